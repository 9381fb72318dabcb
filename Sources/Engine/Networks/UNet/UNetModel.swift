/// openai/guided-diffusion's ADM `UNetModel`, built from its constructor arguments and a
/// checkpoint's weights (looked up by their state-dict names), run in float32.
///
/// `forward` maps noisy images `x [B, in, H, W]` and (possibly fractional) timesteps `[B]` to
/// `[B, out, H, W]`; `inputGradient` adds the vector-Jacobian product w.r.t. `x`. Weights never
/// receive gradients. f32 checkpoint tensors are borrowed (memory-mapped), others converted once.
public final class UNetModel: Sendable {
    public let config: UNetConfig

    enum Layer: Sendable {
        case conv(Conv2d)
        case res(UNetResBlock)
        case attention(UNetAttentionBlock)
        case downsample(Conv2d?)
        case upsample(Conv2d?)
    }

    /// `time_embed`: Linear, SiLU, Linear.
    let timeEmbed: (Linear, Linear)
    let inputBlocks: [[Layer]]
    let middleBlock: [Layer]
    let outputBlocks: [[Layer]]
    let outNorm: GroupNorm
    let outConv: Conv2d
    /// Which blocks a differentiable pass recomputes in the backward pass instead of keeping their
    /// activations (gradient checkpointing, upstream's `use_checkpoint`).
    public enum Recompute: Sendable {
        /// Keep every activation: fastest, most memory.
        case none
        /// Recompute blocks working at the input's full resolution: they hold the largest
        /// activations for the fewest FLOPs (fewest channels), so this saves most memory per second.
        case fullResolution
        /// Recompute every block: least memory, about one extra forward pass.
        case all
    }

    /// The recomputation policy of differentiable passes.
    public let recompute: Recompute

    /// Builds the model; throws on a missing or wrongly shaped weight, or an unsupported config.
    /// `recompute` defaults to `.all` when the config's `use_checkpoint` is set, else `.none`.
    public init(config: UNetConfig, weights: WeightStore, recompute: Recompute? = nil) throws {
        try config.validate()
        self.config = config
        self.recompute = recompute ?? (config.useCheckpoint ? .all : .none)
        let mc = config.modelChannels, e = 4 * mc
        timeEmbed = (
            try Linear(weights.scoped("time_embed.0"), inFeatures: mc, outFeatures: e),
            try Linear(weights.scoped("time_embed.2"), inFeatures: e, outFeatures: e)
        )
        let plan = UNetPlan(config)
        func build(_ spec: UNetPlan.Layer) throws -> Layer {
            switch spec {
            case .conv(let p, let cin, let cout):
                return .conv(try Conv2d(weights.scoped(p), inChannels: cin, outChannels: cout, kernel: 3, padding: 1, allowsWinograd: true))
            case .res(let p, let cin, let cout, let resample):
                return .res(try UNetResBlock(weights.scoped(p), cin: cin, cout: cout, embDim: e, resample: resample, scaleShiftNorm: config.useScaleShiftNorm))
            case .attention(let p, let ch, let heads):
                return .attention(try UNetAttentionBlock(weights.scoped(p), channels: ch, heads: heads, legacyOrder: !config.useNewAttentionOrder))
            case .downsample(let p, let ch, let useConv):
                return .downsample(useConv ? try Conv2d(weights.scoped("\(p).op"), inChannels: ch, outChannels: ch, kernel: 3, stride: 2, padding: 1) : nil)
            case .upsample(let p, let ch, let useConv):
                return .upsample(useConv ? try Conv2d(weights.scoped("\(p).conv"), inChannels: ch, outChannels: ch, kernel: 3, padding: 1, allowsWinograd: true) : nil)
            }
        }
        inputBlocks = try plan.inputBlocks.map { try $0.map(build) }
        middleBlock = try plan.middleBlock.map(build)
        outputBlocks = try plan.outputBlocks.map { try $0.map(build) }
        outNorm = try .adm(weights.scoped("out.0"), channels: plan.finalChannels)
        outConv = try Conv2d(weights.scoped("out.2"), inChannels: plan.finalChannels, outChannels: config.outChannels, kernel: 3, padding: 1, allowsWinograd: true)
    }

    /// The time-embedding MLP applied to the sinusoidal embedding: `[B, 4·model_channels]`.
    public func timestepEmbedding(_ timesteps: Tensor) -> Tensor {
        let t = Variable(Ops.timestepEmbedding(timesteps, dim: config.modelChannels))
        return timeEmbed.1(Ops.silu(timeEmbed.0(t))).value
    }

    /// Differentiable forward: records on `x`'s tape when `x` is watched.
    /// `observe` receives each top-level block's output (`input_blocks.i`, `middle_block`, `output_blocks.j`).
    public func callAsFunction(_ x: Variable, timesteps: Tensor, observe: ((String, Tensor) -> Void)? = nil) -> Variable {
        precondition(x.rank == 4 && x.shape[1] == config.inChannels, "U-Net expects x [B, \(config.inChannels), H, W], got \(x.shape)")
        precondition(timesteps.shape == [x.shape[0]], "U-Net expects timesteps [\(x.shape[0])], got \(timesteps.shape)")
        let levels = config.channelMult.count - 1
        precondition(x.shape[2] % (1 << levels) == 0 && x.shape[3] % (1 << levels) == 0,
            "U-Net input size \(x.shape[2])x\(x.shape[3]) must be divisible by \(1 << levels)")
        let embActivated = Ops.silu(Variable(timestepEmbedding(timesteps))).value

        /// `inputs` are concatenated along channels (an output block's [h, skip]) by its first ResBlock.
        @Sendable func run(_ layers: [Layer], _ inputs: [Variable]) -> Variable {
            var h = inputs[0]
            var rest = layers[...]
            if inputs.count > 1 {
                if case .res(let r)? = layers.first {
                    h = r(concatenating: inputs, embActivated: embActivated)
                    rest = layers.dropFirst()
                } else {
                    h = Ops.concat(inputs, axis: 1)
                }
            }
            for layer in rest {
                switch layer {
                case .conv(let c): h = c(h)
                case .res(let r): h = r(h, embActivated: embActivated)
                case .attention(let a): h = a(h)
                case .downsample(let c): h = c.map { $0(h) } ?? Ops.avgPool2x2(h)
                case .upsample(let c):
                    h = Ops.upsampleNearest2x(h)
                    if let c { h = c(h) }
                }
            }
            return h
        }

        // A recomputed block (when x is recorded) keeps only its inputs.
        func block(_ layers: [Layer], _ inputs: [Variable]) -> Variable {
            let body: ([Variable]) -> Variable = { v in run(layers, v) }
            let again: Bool
            switch recompute {
            case .none: again = false
            case .fullResolution: again = inputs[0].shape[2] == x.shape[2]
            case .all: again = true
            }
            return again && x.requiresGradient ? Ops.checkpoint(inputs, body) : body(inputs)
        }

        var skips: [Variable] = []
        var h = x
        for (i, layers) in inputBlocks.enumerated() {
            h = block(layers, [h])
            observe?("input_blocks.\(i)", h.value)
            skips.append(h)
        }
        h = block(middleBlock, [h])
        observe?("middle_block", h.value)
        for (j, layers) in outputBlocks.enumerated() {
            h = block(layers, [h, skips.removeLast()])
            observe?("output_blocks.\(j)", h.value)
        }
        return outConv(outNorm(h, silu: true))
    }

    /// Output for `x [B, in, H, W]` at `timesteps [B]`, without recording anything.
    public func forward(_ x: Tensor, timesteps: Tensor) -> Tensor {
        self(Variable(x), timesteps: timesteps).value
    }

    /// Output and the gradient w.r.t. `x` of `Σ output · cotangent` (a vector-Jacobian product).
    public func inputGradient(_ x: Tensor, timesteps: Tensor, cotangent: Tensor) -> (output: Tensor, gradient: Tensor) {
        let tape = Tape()
        let input = tape.watch(x)
        let out = self(input, timesteps: timesteps)
        let grad = tape.gradients(of: out, cotangent: cotangent, wrt: [input])[0]
        return (out.value, grad)
    }
}
