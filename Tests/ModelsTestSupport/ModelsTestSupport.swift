import Foundation

/// Helpers shared by the `models` tests of the library and of the command: scratch directories, tiny
/// checkpoints and filler bytes.
public enum ModelsTestSupport {
    /// A new empty directory under the system temporary directory.
    public static func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "stylefilter-models-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A safetensors file of F32 tensors with these names and shapes, filled with small random values
    /// (uniform in ±1/√fan-in, from `seed`; vectors in ±0.5, norm scales near 1): a random-weight
    /// network of any architecture for end-to-end runs.
    public static func randomSafetensors(_ tensors: [(String, [Int])], seed: UInt64 = 1) -> Data {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func uniform() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24) * 2 - 1
        }
        return safetensors(tensors) { name, shape, index in
            if shape.count >= 2 { return uniform() / Float(shape.dropFirst().reduce(1, *)).squareRoot() }
            let isScale = name.hasSuffix(".weight") && (name.contains("norm") || name.contains("layers.0") || name.hasPrefix("out.0"))
            return isScale ? 1 + 0.1 * uniform() : 0.5 * uniform()
        }
    }

    /// A safetensors file of zero-filled F32 tensors with these names and shapes.
    public static func safetensors(_ tensors: [(String, [Int])]) -> Data {
        safetensors(tensors) { _, _, _ in 0 }
    }

    /// A safetensors file of F32 tensors whose element i of tensor `name` is `value(name, shape, i)`.
    static func safetensors(_ tensors: [(String, [Int])], value: (String, [Int], Int) -> Float) -> Data {
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
        var body = [Float]()
        body.reserveCapacity(offset / 4)
        for (name, shape) in tensors {
            for i in 0..<shape.reduce(1, *) { body.append(value(name, shape, i)) }
        }
        body.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// A tiny DINO-shaped backbone (recognised as `dino-vit`, no known variant).
    public static func tinyDINO(dim: Int = 8, depth: Int = 2) -> Data {
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
    public static func bytes(_ count: Int, seed: UInt8 = 1) -> Data {
        var state = UInt32(seed) &* 2_654_435_761 | 1
        return Data((0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        })
    }

    public static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    public static func contents(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}

/// A value shared with callbacks that may run on another thread.
public final class Mutexed<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    public init(_ value: Value) { stored = value }

    public func set(_ value: Value) { lock.withLock { stored = value } }

    public var value: Value { lock.withLock { stored } }
}
