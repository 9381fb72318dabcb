import Foundation

/// Deterministic random weights in the state-dict layout of an `ArcFaceConfig`, for benchmarks and tests
/// without the real checkpoint (`ArcFaceModel(weights: WeightStore(ArcFaceRandomWeights(config: .irSE50)))`).
///
/// Tensors are drawn on access, each from its own Philox stream, with the scales of a trained network so that
/// activations stay in a realistic range: convolution and Linear weights N(0, 1/fan_in), BatchNorm weights
/// 1 + 0.1·N, biases and running means 0.1·N, running variances exp(0.2·N) (always positive), PReLU slopes
/// 0.25 + 0.05·N, `num_batches_tracked` 0.
public struct ArcFaceRandomWeights: TensorArchive {
    let layout: [(name: String, shape: [Int], role: ArcFaceConfig.ParameterRole)]
    let index: [String: Int]
    let seed: UInt64

    /// The weights of `config`, drawn from `seed`.
    public init(config: ArcFaceConfig, seed: UInt64 = 0) {
        layout = config.parameterLayout()
        index = Dictionary(uniqueKeysWithValues: layout.enumerated().map { ($1.name, $0) })
        self.seed = seed
    }

    /// The state-dict names, in the checkpoint's order.
    public var tensorNames: [String] { layout.map(\.name) }

    /// The shape of `name`, or nil when the layout has no such tensor.
    public func shape(of name: String) -> [Int]? { index[name].map { layout[$0].shape } }

    /// The tensor `name`, drawn afresh (the same values on every call).
    public func tensor(named name: String) throws -> Tensor {
        guard let i = index[name] else { throw CheckpointError.missingTensor(name: name) }
        let (shape, role) = (layout[i].shape, layout[i].role)
        var rng = PhiloxGenerator(seed: seed, stream: UInt64(i))
        let normal = rng.normalTensor(shape).scalars
        let fanIn = Float(Tensor.elementCount(Array(shape.dropFirst())))
        let values: [Float] = normal.map { z in
            switch role {
            case .convolutionOrLinearWeight: return z / fanIn.squareRoot()
            case .linearBias, .normBias, .runningMean: return 0.1 * z
            case .normWeight: return 1 + 0.1 * z
            case .runningVariance: return Float(Foundation.exp(0.2 * Double(z)))
            case .slope: return 0.25 + 0.05 * z
            case .batchCount: return 0
            }
        }
        return Tensor(shape: shape, scalars: values)
    }
}
