/// PyTorch `nn.PReLU(num_parameters: C)`: `max(x, 0) + a_c·min(x, 0)` with a learned slope per channel
/// (`weight [C]`).
struct PReLU: Sendable {
    let slope: Tensor

    /// Loads the slopes from `store`, checking their shape.
    init(_ store: WeightStore, channels: Int) throws {
        slope = try store.tensor("weight", shape: [channels])
    }

    func callAsFunction(_ x: Variable) -> Variable {
        Ops.prelu(x, slope: slope)
    }
}
