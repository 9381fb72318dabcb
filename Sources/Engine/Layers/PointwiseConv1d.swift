/// PyTorch `nn.Conv1d` with kernel size 1 (`weight [out, in, 1]`, `bias [out]`) over `[B, in, T]`: per position, a
/// linear map over channels (ADM's attention projections).
struct PointwiseConv1d: Sendable {
    let weight: Tensor
    let bias: Tensor

    /// Loads `weight` and `bias` from `store`, checking their shapes.
    init(_ store: WeightStore, inChannels: Int, outChannels: Int) throws {
        weight = try store.tensor("weight", shape: [outChannels, inChannels, 1])
        bias = try store.tensor("bias", shape: [outChannels])
    }

    func callAsFunction(_ x: Variable) -> Variable {
        Ops.conv1x1(x, weight: weight, bias: bias)
    }
}
