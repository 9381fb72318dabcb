/// PyTorch `nn.Linear`: `y = x·Wᵀ + b` over the last axis, with `weight [out, in]` and an optional `bias [out]`.
struct Linear: Sendable {
    let weight: Tensor
    let bias: Tensor?

    /// Loads the layer from `store` by the checkpoint's key names (PyTorch's `weight` / `bias` unless the
    /// module names them otherwise, as `nn.MultiheadAttention`'s `in_proj_weight`), checking their shapes.
    init(
        _ store: WeightStore, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true,
        weightKey: String = "weight", biasKey: String = "bias"
    ) throws {
        weight = try store.tensor(weightKey, shape: [outFeatures, inFeatures])
        bias = hasBias ? try store.tensor(biasKey, shape: [outFeatures]) : nil
    }

    func callAsFunction(_ x: Variable) -> Variable {
        Ops.linear(x, weight: weight, bias: bias)
    }
}
