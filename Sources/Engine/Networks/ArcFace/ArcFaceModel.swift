/// What one forward pass of the ArcFace backbone exposes, all differentiable w.r.t. the image.
public struct ArcFaceFeatures {
    /// Each stage's output (the output of its last unit), `[B, width, side, side]`.
    public let stageOutputs: [Variable]
    /// `output_layer`'s output before the L2 normalisation, `[B, E]`.
    public let outputLayer: Variable
    /// The identity embedding: `outputLayer` divided by its L2 norm per row (no epsilon), `[B, E]`.
    public let embedding: Variable
}

/// The ArcFace IR-SE backbone of DiffuseIT's faces mode (`id_model/model_irse.py` `Backbone`, eval mode):
/// BatchNorms use their running statistics and Dropout is the identity.
///
/// Input: `[B, 3, S, S]` face crops in [−1, 1] (S = `config.inputSize`, 112), used as they are (DiffuseIT's
/// identity loss normalises nothing). Output: L2-normalised `[B, E]` embeddings, differentiable w.r.t. the input;
/// weights never receive gradients.
public final class ArcFaceModel: Sendable {
    /// The architecture the weights were loaded for.
    public let config: ArcFaceConfig
    /// `input_layer`: 3x3 conv with its BatchNorm folded in, then PReLU.
    let stem: Conv2d
    let stemActivation: PReLU
    let stages: [[ArcFaceBottleneck]]
    /// `output_layer`: BatchNorm2d, Dropout (identity), Flatten, Linear, BatchNorm1d.
    let outputNorm: BatchNorm
    let linear: Linear
    let embeddingNorm: BatchNorm

    /// Loads the backbone from state-dict names (`input_layer.*`, `body.i.*`, `output_layer.*`); `config` defaults
    /// to what the shapes say (`ArcFaceConfig.recognise`).
    public init(weights: WeightStore, config: ArcFaceConfig? = nil) throws {
        let c = try config ?? ArcFaceConfig.recognise(weights)
        try c.validate()
        self.config = c
        let eps = c.batchNormEps
        stem = try Conv2d(weights.scoped("input_layer"), conv: "0", batchNorm: "1", inChannels: 3, outChannels: c.stemChannels, kernel: 3, padding: 1, eps: eps)
        stemActivation = try PReLU(weights.scoped("input_layer.2"), channels: c.stemChannels)
        let units = c.units
        var stages: [[ArcFaceBottleneck]] = []
        for stage in c.stages {
            let first = stages.joined().count
            stages.append(try (first..<(first + stage.units)).map { i in try ArcFaceBottleneck(weights.scoped("body.\(i)"), unit: units[i], eps: eps) })
        }
        self.stages = stages
        let output = weights.scoped("output_layer")
        outputNorm = try BatchNorm(output.scoped("0"), channels: c.outputChannels, eps: eps)
        linear = try Linear(output.scoped("3"), inFeatures: c.flattenedFeatures, outFeatures: c.embeddingDim)
        embeddingNorm = try BatchNorm(output.scoped("4"), channels: c.embeddingDim, eps: eps)
    }

    /// Opens a checkpoint file (`model_ir_se50.pth`, a torch.save zip, or safetensors) and loads it; the config
    /// defaults to what the shapes say.
    public convenience init(contentsOf path: String, config: ArcFaceConfig? = nil) throws {
        try self.init(weights: WeightStore(try Checkpoint.open(path)), config: config)
    }

    /// One forward pass with its taps. Throws `ArcFaceError.badInput` unless `image` is `[B, 3, S, S]`, B ≥ 1.
    public func features(_ image: Variable) throws -> ArcFaceFeatures {
        let s = config.inputSize
        guard image.rank == 4, image.shape[0] > 0, Array(image.shape[1...]) == [3, s, s] else {
            throw ArcFaceError.badInput("images must be [B, 3, \(s), \(s)], got \(image.shape)")
        }
        var x = stemActivation(stem(image))
        var stageOutputs: [Variable] = []
        for stage in stages {
            for unit in stage { x = unit(x) }
            stageOutputs.append(x)
        }
        let batch = x.shape[0]
        let flat = Ops.reshape(outputNorm(x), [batch, x.value.count / batch])  // channel-major, as torch's view
        let out = embeddingNorm(linear(flat))
        return ArcFaceFeatures(stageOutputs: stageOutputs, outputLayer: out, embedding: Ops.l2Normalize(out))
    }

    /// The L2-normalised embedding `[B, E]` of `[B, 3, S, S]` images in [−1, 1].
    public func callAsFunction(_ image: Variable) throws -> Variable {
        try features(image).embedding
    }

    /// The embedding of `images` and the gradient w.r.t. them of `Σ embedding · cotangent` (a vector-Jacobian
    /// product).
    public func inputGradient(_ images: Tensor, cotangent: Tensor) throws -> (embedding: Tensor, gradient: Tensor) {
        let tape = Tape()
        let x = tape.watch(images)
        let y = try self(x)
        guard cotangent.shape == y.shape else { throw ArcFaceError.badInput("cotangent \(cotangent.shape) does not match the embedding \(y.shape)") }
        return (y.value, tape.gradients(of: y, cotangent: cotangent, wrt: [x])[0])
    }

    /// Forward multiply-accumulates per image (convolutions and the Linear), for benchmark figures.
    public var forwardMACs: Int {
        var side = config.inputSize
        var macs = stem.forwardMACs(outputSide: side)
        for unit in stages.joined() {
            macs += unit.forwardMACs(inputSide: side)
            side = ArcFaceConfig.outputSide(side, stride: unit.stride)
        }
        return macs + linear.weight.count
    }
}
