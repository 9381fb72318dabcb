/// PyTorch `nn.Conv2d` (square kernel, zero padding, no groups or dilation): `weight [out, in, k, k]` and an
/// optional `bias [out]`.
struct Conv2d: Sendable {
    let weight: Tensor
    let bias: Tensor?
    let stride: Int
    let padding: Int
    /// Whether a Winograd form may run it (``Ops/conv2d(_:weight:bias:stride:padding:allowsWinograd:)`` says when).
    let allowsWinograd: Bool

    /// Loads the layer's `weight` (and `bias`) from `store`, checking their shapes.
    init(
        _ store: WeightStore, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias hasBias: Bool = true,
        allowsWinograd: Bool = false
    ) throws {
        weight = try store.tensor("weight", shape: [outChannels, inChannels, kernel, kernel])
        bias = hasBias ? try store.tensor("bias", shape: [outChannels]) : nil
        self.stride = stride
        self.padding = padding
        self.allowsWinograd = allowsWinograd
    }

    /// The convolution `store.conv` followed by the inference-mode `BatchNorm2d` `store.batchNorm` (sibling
    /// modules, as in an `nn.Sequential`), folded into one convolution at load: per output channel o,
    /// `w' = w·a_o` and `b' = b·a_o + c_o` with the BatchNorm's `y = x·a + c` (`BatchNorm.Coefficients`), in
    /// float64 and rounded once.
    init(
        _ store: WeightStore, conv: String, batchNorm: String, inChannels: Int, outChannels: Int, kernel: Int, stride: Int = 1,
        padding: Int = 0, bias hasBias: Bool = false, eps: Float
    ) throws {
        let raw = try Conv2d(
            store.scoped(conv), inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride, padding: padding, bias: hasBias)
        let bn = try BatchNorm.Coefficients(store.scoped(batchNorm), channels: outChannels, eps: eps)
        let perChannel = inChannels * kernel * kernel
        var folded = raw.weight.scalars
        let rawBias = raw.bias?.scalars
        var bias = [Float](repeating: 0, count: outChannels)
        for o in 0..<outChannels {
            let a = bn.scale[o]
            for j in 0..<perChannel { folded[o * perChannel + j] = Float(Double(folded[o * perChannel + j]) * a) }
            bias[o] = Float(Double(rawBias?[o] ?? 0) * a + bn.shift[o])
        }
        weight = Tensor(shape: raw.weight.shape, scalars: folded)
        self.bias = Tensor(shape: [outChannels], scalars: bias)
        self.stride = stride
        self.padding = padding
        allowsWinograd = false
    }

    func callAsFunction(_ x: Variable) -> Variable {
        Ops.conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, allowsWinograd: allowsWinograd)
    }

    /// Forward multiply-accumulates per image for an `outputSide x outputSide` output, for benchmark figures.
    func forwardMACs(outputSide: Int) -> Int { weight.count * outputSide * outputSide }
}
