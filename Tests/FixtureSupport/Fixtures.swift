import Foundation
import Engine

/// Parity fixtures: the folder named by `STYLEFILTER_FIXTURES`, else the repo's `Tests/Fixtures` copy.
/// Tests read every case and model config from its `manifest.json`, never from hard-coded names.
/// Shared by every test target that compares against the PyTorch parity fixtures.
public enum Fixtures {
    public static let directory: URL = {
        if let env = ProcessInfo.processInfo.environment["STYLEFILTER_FIXTURES"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        // This file lives in Tests/FixtureSupport/; the fixtures in Tests/Fixtures/.
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures", isDirectory: true)
    }()

    /// The parsed manifest.json (top-level object).
    public nonisolated(unsafe) static let manifest: [String: Any] = {
        let url = directory.appendingPathComponent("manifest.json")
        guard let data = try? Data(contentsOf: url),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { fatalError("cannot read fixture manifest at \(url.path)") }
        return object
    }()

    /// The manifest's file entries.
    public static var files: [[String: Any]] { manifest["files"] as? [[String: Any]] ?? [] }

    public static func path(_ file: String) -> String { directory.appendingPathComponent(file).path }

    public static func safetensors(_ file: String) throws -> SafeTensorsArchive {
        try SafeTensorsArchive(path: path(file))
    }
}

/// Relative L2 error ‖a − b‖ / ‖b‖ (float64 accumulation); ‖a‖ when b is all zeros.
public func relativeL2(_ a: [Float], _ b: [Float]) -> Double {
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
public let parityTolerance = 1e-4

extension Fixtures {
    /// The manifest entries whose `case.kind` is `kind`.
    public static func entries(kind: String) -> [[String: Any]] {
        files.filter { ($0["case"] as? [String: Any])?["kind"] as? String == kind }
    }
}
