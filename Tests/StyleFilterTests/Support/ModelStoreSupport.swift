import Foundation
import ModelsTestSupport
@testable import StyleFilter

/// Catalogue entries and stores for the library's `models` tests.
extension ModelsTestSupport {
    /// A catalogue entry for tests, served by a mirror at `/test/<file>`.
    static func entry(
        _ name: String, file: String, sha256: String? = nil, architecture: String = "dino-vit", modes: Set<ModelMode> = [.image]
    ) -> ModelEntry {
        ModelEntry(
            name: name, role: "test model", fileName: file, urls: ["https://models.invalid/test/\(file)"], manualSource: nil,
            approximateBytes: 1000, publishedSHA256: sha256, modes: modes, format: "safetensors", architecture: architecture)
    }

    /// A store over `directory` whose downloads go to `server` (as a mirror), with short timeouts.
    static func store(
        _ directory: String, server: LoopbackHTTPServer?, catalog: [ModelEntry], offline: Bool = false,
        stallTimeout: Double = 5, attempts: Int = 1
    ) throws -> ModelStore {
        var variables = ["HOME": directory, "STYLEFILTER_STALL_TIMEOUT": "\(stallTimeout)", "STYLEFILTER_FETCH_ATTEMPTS": "\(attempts)"]
        if let server {
            variables["STYLEFILTER_MIRROR"] = server.baseURL
            variables["STYLEFILTER_ALLOW_HTTP"] = "1"
        }
        if offline { variables["STYLEFILTER_OFFLINE"] = "1" }
        let environment = try ModelEnvironment(variables)
        return ModelStore(directory: ModelsDirectory(path: directory, source: .option), environment: environment, catalog: catalog)
    }
}
