/// PyTorch `nn.GroupNorm` with affine parameters `weight [C]`, `bias [C]`.
struct GroupNorm: Sendable {
    let groups: Int
    let weight: Tensor
    let bias: Tensor
    let eps: Float

    /// Loads the affine parameters from `store`, checking their shapes.
    init(_ store: WeightStore, channels: Int, groups: Int, eps: Float = 1e-5) throws {
        self.groups = groups
        weight = try store.tensor("weight", shape: [channels])
        bias = try store.tensor("bias", shape: [channels])
        self.eps = eps
    }

    /// The normalisation, optionally fused with ADM's per-sample scale/shift and a following SiLU
    /// (`Ops.groupNorm`).
    func callAsFunction(_ x: Variable, scaleShift: (scale: Tensor, shift: Tensor)? = nil, silu: Bool = false) -> Variable {
        Ops.groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, scaleShift: scaleShift, silu: silu)
    }
}
