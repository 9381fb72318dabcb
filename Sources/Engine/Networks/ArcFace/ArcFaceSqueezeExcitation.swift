/// `SEModule(channels, reduction)` of `id_model/helpers.py`: `x · sigmoid(fc2(relu(fc1(mean_hw(x)))))` with
/// bias-free 1x1 convolutions `fc1 [hidden, C, 1, 1]` and `fc2 [C, hidden, 1, 1]`.
struct ArcFaceSqueezeExcitation: Sendable {
    let fc1: Conv2d
    let fc2: Conv2d

    init(_ w: WeightStore, channels: Int, hidden: Int) throws {
        fc1 = try Conv2d(w.scoped("fc1"), inChannels: channels, outChannels: hidden, kernel: 1, bias: false)
        fc2 = try Conv2d(w.scoped("fc2"), inChannels: hidden, outChannels: channels, kernel: 1, bias: false)
    }

    /// The gate works on `[B, C, 1, 1]`; only the final product touches the whole map (one pass).
    func callAsFunction(_ x: Variable) -> Variable {
        let gate = Ops.sigmoid(fc2(Ops.relu(fc1(Ops.globalAveragePool(x)))))
        return Ops.scaleChannels(x, by: gate)
    }
}
