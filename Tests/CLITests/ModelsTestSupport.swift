import Foundation
import StyleFilter

/// Helpers shared by the `models` tests: scratch directories, tiny checkpoints, environments and the CLI.
enum ModelsTestSupport {
    /// A new empty directory under the system temporary directory.
    static func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "stylefilter-models-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A safetensors file of zero-filled F32 tensors with these names and shapes.
    static func safetensors(_ tensors: [(String, [Int])]) -> Data {
        var header: [String] = []
        var offset = 0
        for (name, shape) in tensors {
            let bytes = shape.reduce(1, *) * 4
            header.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var json = Data(("{" + header.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var data = Data()
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(Data(count: offset))
        return data
    }

    /// A tiny DINO-shaped backbone (recognised as `dino-vit`, no known variant).
    static func tinyDINO(dim: Int = 8, depth: Int = 2) -> Data {
        var tensors: [(String, [Int])] = [
            ("cls_token", [1, 1, dim]), ("pos_embed", [1, 5, dim]), ("patch_embed.proj.weight", [dim, 3, 2, 2]),
            ("patch_embed.proj.bias", [dim]),
        ]
        for block in 0..<depth {
            tensors += [
                ("blocks.\(block).attn.qkv.weight", [3 * dim, dim]), ("blocks.\(block).attn.qkv.bias", [3 * dim]),
                ("blocks.\(block).mlp.fc1.weight", [4 * dim, dim]), ("blocks.\(block).mlp.fc2.weight", [dim, 4 * dim]),
            ]
        }
        tensors += [("norm.weight", [dim]), ("norm.bias", [dim])]
        return safetensors(tensors)
    }

    /// Deterministic filler bytes (not a checkpoint).
    static func bytes(_ count: Int, seed: UInt8 = 1) -> Data {
        var state = UInt32(seed) &* 2_654_435_761 | 1
        return Data((0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        })
    }

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
        if let server { variables["STYLEFILTER_MIRROR"] = server.baseURL }
        if offline { variables["STYLEFILTER_OFFLINE"] = "1" }
        let environment = try ModelEnvironment(variables)
        return ModelStore(directory: ModelsDirectory(path: directory, source: .option), environment: environment, catalog: catalog)
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    static func contents(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}

/// Runs the built `stylefilter` binary for the `models` end-to-end tests.
enum ModelsCLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let binary: URL = {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("stylefilter")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: "stylefilter-binary-not-found")
    }()

    /// Runs `stylefilter ARGS` with a clean environment: no inherited STYLEFILTER_* or XDG variables,
    /// HOME set to `home`, plus `environment`.
    static func run(_ arguments: [String], home: String, environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STYLEFILTER_") && !$0.key.hasPrefix("XDG_") }
        variables["HOME"] = home
        for (key, value) in environment { variables[key] = value }
        process.environment = variables
        let output = Pipe()
        let error = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read both pipes concurrently so neither can fill up and block the child.
        let errorData = Mutexed(Data())
        let reader = Thread { errorData.set(error.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.isSet { usleep(1000) }
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errorData.value, as: UTF8.self))
    }
}

/// A value set once from another thread.
final class Mutexed<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    private var assigned = false

    init(_ value: Value) { stored = value }

    func set(_ value: Value) {
        lock.withLock {
            stored = value
            assigned = true
        }
    }

    var isSet: Bool { lock.withLock { assigned } }
    var value: Value { lock.withLock { stored } }
}
