/// PyTorch `nn.LayerNorm` over the last axis, with affine parameters `weight [D]`, `bias [D]`.
struct LayerNorm: Sendable {
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    /// Loads the affine parameters from `store`, checking their shapes.
    init(_ store: WeightStore, width: Int, eps: Float) throws {
        weight = try store.tensor("weight", shape: [width])
        bias = try store.tensor("bias", shape: [width])
        self.eps = eps
    }

    func callAsFunction(_ x: Variable) -> Variable {
        Ops.layerNorm(x, weight: weight, bias: bias, eps: eps)
    }
}
