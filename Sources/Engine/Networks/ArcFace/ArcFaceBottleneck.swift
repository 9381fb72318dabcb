/// `bottleneck_IR_SE` of `id_model/helpers.py`: residual branch BatchNorm → 3x3 conv → PReLU → 3x3 conv with the
/// unit's stride → BatchNorm → squeeze-excitation, plus a shortcut (1x1 conv with the stride and BatchNorm when
/// the width changes, else every stride-th pixel: `MaxPool2d(1, stride)`).
///
/// BatchNorms that follow a convolution are folded into it at load; the first one precedes a zero-padded
/// convolution (folding it would change the border) and runs as a per-channel affine map.
struct ArcFaceBottleneck: Sendable {
    let norm: BatchNorm
    let conv1: Conv2d
    let prelu: PReLU
    let conv2: Conv2d
    let squeezeExcitation: ArcFaceSqueezeExcitation
    let shortcutConvolution: Conv2d?
    let stride: Int

    init(_ w: WeightStore, unit u: ArcFaceConfig.Unit, eps: Float) throws {
        let res = w.scoped("res_layer")
        norm = try BatchNorm(res.scoped("0"), channels: u.inChannels, eps: eps)
        conv1 = try Conv2d(res.scoped("1"), inChannels: u.inChannels, outChannels: u.depth, kernel: 3, padding: 1, bias: false)
        prelu = try PReLU(res.scoped("2"), channels: u.depth)
        conv2 = try Conv2d(res, conv: "3", batchNorm: "4", inChannels: u.depth, outChannels: u.depth, kernel: 3, stride: u.stride, padding: 1, eps: eps)
        squeezeExcitation = try ArcFaceSqueezeExcitation(res.scoped("5"), channels: u.depth, hidden: u.squeezeChannels)
        shortcutConvolution = u.hasShortcutConvolution
            ? try Conv2d(w.scoped("shortcut_layer"), conv: "0", batchNorm: "1", inChannels: u.inChannels, outChannels: u.depth, kernel: 1, stride: u.stride, eps: eps)
            : nil
        stride = u.stride
    }

    func callAsFunction(_ x: Variable) -> Variable {
        let residual = squeezeExcitation(conv2(prelu(conv1(norm(x)))))
        let shortcut = shortcutConvolution.map { $0(x) } ?? Ops.subsample(x, stride: stride)
        return residual + shortcut
    }

    /// Forward multiply-accumulates per image for an input of side `inputSide`.
    func forwardMACs(inputSide: Int) -> Int {
        let outputSide = ArcFaceConfig.outputSide(inputSide, stride: stride)
        return conv1.forwardMACs(outputSide: inputSide) + conv2.forwardMACs(outputSide: outputSide)
            + (shortcutConvolution?.forwardMACs(outputSide: outputSide) ?? 0)
    }
}
