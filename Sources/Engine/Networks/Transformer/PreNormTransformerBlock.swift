/// The pre-norm residual attention block shared by DINO's ViT and both CLIP transformers:
/// `x = x + proj(MHA(norm1(x)))`, `x = x + fc2(act(fc1(norm2(x))))`.
///
/// The fused `qkv` projection's output features are q | k | v, each head-major, in both DINO
/// (`attn.qkv`) and CLIP (`attn.in_proj_weight`), so one attention op serves both.
struct PreNormTransformerBlock {
    /// Checkpoint names of a block's modules, relative to the block.
    struct Names {
        var norm1: String, proj: String, norm2: String, fc1: String, fc2: String
        /// The fused qkv projection: its module and its weight and bias keys within that module.
        var qkv: String, qkvWeightKey: String, qkvBiasKey: String

        /// facebookresearch/dino `Block`.
        static let dino = Names(
            norm1: "norm1", proj: "attn.proj", norm2: "norm2", fc1: "mlp.fc1", fc2: "mlp.fc2",
            qkv: "attn.qkv", qkvWeightKey: "weight", qkvBiasKey: "bias")
        /// openai/CLIP `ResidualAttentionBlock` (`nn.MultiheadAttention` keeps its input projection as
        /// `in_proj_weight` / `in_proj_bias`).
        static let clip = Names(
            norm1: "ln_1", proj: "attn.out_proj", norm2: "ln_2", fc1: "mlp.c_fc", fc2: "mlp.c_proj",
            qkv: "attn", qkvWeightKey: "in_proj_weight", qkvBiasKey: "in_proj_bias")
    }

    enum Activation: Sendable {
        /// Exact erf GELU (DINO).
        case gelu
        /// `x·sigmoid(1.702x)` (CLIP).
        case quickGELU
    }

    let norm1: LayerNorm
    let qkv: Linear
    let proj: Linear
    let norm2: LayerNorm
    let fc1: Linear
    let fc2: Linear
    let heads: Int
    let activation: Activation

    init(_ w: WeightStore, names: Names, width: Int, hidden: Int, heads: Int, eps: Float, activation: Activation) throws {
        precondition(width % heads == 0, "width \(width) is not divisible by \(heads) heads")
        norm1 = try LayerNorm(w.scoped(names.norm1), width: width, eps: eps)
        qkv = try Linear(
            w.scoped(names.qkv), inFeatures: width, outFeatures: 3 * width, weightKey: names.qkvWeightKey, biasKey: names.qkvBiasKey)
        proj = try Linear(w.scoped(names.proj), inFeatures: width, outFeatures: width)
        norm2 = try LayerNorm(w.scoped(names.norm2), width: width, eps: eps)
        fc1 = try Linear(w.scoped(names.fc1), inFeatures: width, outFeatures: hidden)
        fc2 = try Linear(w.scoped(names.fc2), inFeatures: hidden, outFeatures: width)
        self.heads = heads
        self.activation = activation
    }

    /// Runs the block on `x [B, N, D]`; also returns the fused qkv projection `[B, N, 3D]` (DINO's key tap).
    func callAsFunction(_ x: Variable, causal: Bool = false) -> (output: Variable, qkv: Variable) {
        let projected = qkv(norm1(x))
        let x1 = x + proj(Ops.selfAttention(projected, heads: heads, causal: causal))
        let hidden = fc1(norm2(x1))
        let activated = activation == .gelu ? Ops.gelu(hidden) : Ops.quickGELU(hidden)
        return (x1 + fc2(activated), projected)
    }

    /// Multiply-accumulates of one block on `tokens` tokens (forward), for benchmark figures.
    static func forwardMACs(tokens n: Int, width d: Int, hidden: Int) -> Int {
        n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * hidden
    }
}
