import Foundation

// SwiftPM generates `Bundle.module` for the Engine's resources; the fuzz build compiles the Engine sources with
// swiftc directly, so this stands in for it: the BPE vocabulary is read from the source tree.
extension Foundation.Bundle {
    static let module: Bundle = {
        let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Engine/Resources").standardizedFileURL
        guard let bundle = Bundle(path: resources.path) else { fatalError("no Engine resources at \(resources.path)") }
        return bundle
    }()
}
