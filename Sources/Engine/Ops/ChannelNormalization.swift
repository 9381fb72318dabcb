extension Ops {
    /// Per-channel `(x − mean[c]) / std[c]` on `[B, C, H, W]` (torchvision `Normalize` on a tensor), differentiable.
    public static func normalizeChannels(_ x: Variable, mean: [Float], std: [Float]) -> Variable {
        precondition(x.rank == 4 && x.shape[1] == mean.count && mean.count == std.count,
            "normalizeChannels: \(x.shape) does not match \(mean.count) channel statistics")
        let c = mean.count
        let m = Variable(Tensor(shape: [1, c, 1, 1], scalars: mean))
        let inv = Variable(Tensor(shape: [1, c, 1, 1], scalars: std.map { 1 / $0 }))
        return (x - m) * inv
    }
}
