import Foundation
import Engine

/// Parity fixtures: the folder named by `STYLEFILTER_FIXTURES`, else the repo's `Tests/Fixtures` copy.
/// Tests read every case and model config from its `manifest.json`, never from hard-coded names.
enum Fixtures {
    static let directory: URL = {
        if let env = ProcessInfo.processInfo.environment["STYLEFILTER_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures", isDirectory: true)
    }()

    /// The parsed manifest.json (top-level object).
    nonisolated(unsafe) static let manifest: [String: Any] = {
        let url = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { fatalError("cannot read fixture manifest at \(url.path)") }
        return object
    }()

    /// The manifest's file entries.
    static var files: [[String: Any]] { manifest["files"] as? [[String: Any]] ?? [] }

    static func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    static func safetensors(_ file: String) throws -> SafeTensorsArchive {
        try SafeTensorsArchive(path: path(file))
    }
}

/// Relative L2 error ‖a − b‖ / ‖b‖ (float64 accumulation); ‖a‖ when b is all zeros.
func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "length mismatch \(a.count) vs \(b.count)")
    var num = 0.0, den = 0.0
    for i in 0..<a.count {
        let d = Double(a[i]) - Double(b[i])
        num += d * d
        den += Double(b[i]) * Double(b[i])
    }
    return den == 0 ? num.squareRoot() : (num / den).squareRoot()
}

/// The parity tolerance from the project's brief.
let parityTolerance = 1e-4

extension Fixtures {
    /// The manifest entries whose `case.kind` is `kind`.
    static func entries(kind: String) -> [[String: Any]] {
        files.filter { ($0["case"] as? [String: Any])?["kind"] as? String == kind }
    }
}
