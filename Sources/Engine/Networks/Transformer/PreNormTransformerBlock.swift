/// The pre-norm residual attention block shared by DINO's ViT and both CLIP transformers:
/// `x = x + proj(MHA(norm1(x)))`, `x = x + fc2(act(fc1(norm2(x))))`.
///
/// The fused `qkv` projection's output features are q | k | v, each head-major, in both DINO
/// (`attn.qkv`) and CLIP (`attn.in_proj_weight`), so one attention op serves both.
struct PreNormTransformerBlock {
    /// Checkpoint names of a block's tensors, relative to the block.
    struct Names {
        var norm1: String, qkvWeight: String, qkvBias: String, proj: String, norm2: String, fc1: String, fc2: String

        /// facebookresearch/dino `Block`.
        static let dino = Names(
            norm1: "norm1", qkvWeight: "attn.qkv.weight", qkvBias: "attn.qkv.bias", proj: "attn.proj",
            norm2: "norm2", fc1: "mlp.fc1", fc2: "mlp.fc2")
        /// openai/CLIP `ResidualAttentionBlock`.
        static let clip = Names(
            norm1: "ln_1", qkvWeight: "attn.in_proj_weight", qkvBias: "attn.in_proj_bias", proj: "attn.out_proj",
            norm2: "ln_2", fc1: "mlp.c_fc", fc2: "mlp.c_proj")
    }

    enum Activation: Sendable {
        /// Exact erf GELU (DINO).
        case gelu
        /// `x·sigmoid(1.702x)` (CLIP).
        case quickGELU
    }

    let norm1Weight: Tensor, norm1Bias: Tensor
    let qkvWeight: Tensor, qkvBias: Tensor
    let projWeight: Tensor, projBias: Tensor
    let norm2Weight: Tensor, norm2Bias: Tensor
    let fc1Weight: Tensor, fc1Bias: Tensor
    let fc2Weight: Tensor, fc2Bias: Tensor
    let heads: Int
    let eps: Float
    let activation: Activation

    init(_ w: WeightStore, names: Names, width: Int, hidden: Int, heads: Int, eps: Float, activation: Activation) throws {
        precondition(width % heads == 0, "width \(width) is not divisible by \(heads) heads")
        norm1Weight = try w.tensor(names.norm1 + ".weight", shape: [width])
        norm1Bias = try w.tensor(names.norm1 + ".bias", shape: [width])
        qkvWeight = try w.tensor(names.qkvWeight, shape: [3 * width, width])
        qkvBias = try w.tensor(names.qkvBias, shape: [3 * width])
        projWeight = try w.tensor(names.proj + ".weight", shape: [width, width])
        projBias = try w.tensor(names.proj + ".bias", shape: [width])
        norm2Weight = try w.tensor(names.norm2 + ".weight", shape: [width])
        norm2Bias = try w.tensor(names.norm2 + ".bias", shape: [width])
        fc1Weight = try w.tensor(names.fc1 + ".weight", shape: [hidden, width])
        fc1Bias = try w.tensor(names.fc1 + ".bias", shape: [hidden])
        fc2Weight = try w.tensor(names.fc2 + ".weight", shape: [width, hidden])
        fc2Bias = try w.tensor(names.fc2 + ".bias", shape: [width])
        self.heads = heads
        self.eps = eps
        self.activation = activation
    }

    /// Runs the block on `x [B, N, D]`; also returns the fused qkv projection `[B, N, 3D]` (DINO's key tap).
    func callAsFunction(_ x: Variable, causal: Bool = false) -> (output: Variable, qkv: Variable) {
        let h = Ops.layerNorm(x, weight: norm1Weight, bias: norm1Bias, eps: eps)
        let qkv = Ops.linear(h, weight: qkvWeight, bias: qkvBias)
        let attended = Ops.linear(Ops.selfAttention(qkv, heads: heads, causal: causal), weight: projWeight, bias: projBias)
        let x1 = x + attended
        let h2 = Ops.layerNorm(x1, weight: norm2Weight, bias: norm2Bias, eps: eps)
        let hidden = Ops.linear(h2, weight: fc1Weight, bias: fc1Bias)
        let activated = activation == .gelu ? Ops.gelu(hidden) : Ops.quickGELU(hidden)
        return (x1 + Ops.linear(activated, weight: fc2Weight, bias: fc2Bias), qkv)
    }

    /// Multiply-accumulates of one block on `tokens` tokens (forward), for benchmark figures.
    static func forwardMACs(tokens n: Int, width d: Int, hidden: Int) -> Int {
        n * d * 3 * d + 2 * n * n * d + n * d * d + 2 * n * d * hidden
    }
}
