/// Random weights for benchmarks and tests of full architectures without the real checkpoints: drawn on
/// demand for a list of (name, shape), uniform noise with the variance of
/// guided-diffusion-like initialisation (1/fan_in for matrices and convolutions, GroupNorm weights
/// near 1), so activations stay in a realistic range.
public final class RandomWeightArchive: TensorArchive, @unchecked Sendable {
    /// A xorshift generator (the same numbers on every platform), also for random inputs next to the weights.
    public struct Generator: Sendable {
        var state: UInt64
        public init(seed: UInt64) { state = seed | 1 }
        /// Uniform in [-scale, scale].
        public mutating func uniform(scale: Float) -> Float {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    let shapes: [String: [Int]]
    public let tensorNames: [String]

    /// An archive of `entries` (checkpoint names and shapes).
    public init(_ entries: [(name: String, shape: [Int])]) {
        tensorNames = entries.map(\.name)
        shapes = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0.shape) })
    }

    public func shape(of name: String) -> [Int]? { shapes[name] }

    public func tensor(named name: String) throws -> Tensor {
        guard let shape = shapes[name] else { throw CheckpointError.missingTensor(name: name) }
        // FNV-1a of the name: a seed that is the same in every run (hashValue is not).
        var rng = Generator(seed: name.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 })
        let count = Tensor.elementCount(shape)
        var t = Tensor(uninitializedShape: shape)
        // sqrt(3) turns a uniform half-width into a standard deviation.
        let isNorm = shape.count == 1 && (name.contains("norm") || name.contains("in_layers.0") || name.contains("out_layers.0") || name.hasPrefix("out.0"))
        let scale: Float = shape.count >= 2 ? 1.7320508 / Float(count / shape[0]).squareRoot() : (isNorm ? 0.17 : 0.087)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<count { p[i] = (isNorm && name.hasSuffix("weight") ? 1 : 0) + rng.uniform(scale: scale) }
        }
        return t
    }
}
