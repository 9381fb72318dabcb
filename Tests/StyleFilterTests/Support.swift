import Foundation

@testable import StyleFilter
@testable import VipsBridge

enum Samples {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func input(_ name: String) -> ImageInput { .file(path(name)) }
}

/// A fresh empty directory under the system temporary directory.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs a chain over a sample and returns the lazy result.
func build(_ stages: [any Stage], on sample: String) throws -> VImage {
    try Chain(stages).build(input: Samples.input(sample))
}
