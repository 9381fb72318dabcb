extension Ops {
    /// 2-D convolution of `x [B, Cin, H, W]` with `weight [Cout, Cin, kh, kw]` (+ `bias [Cout]`),
    /// PyTorch `Conv2d` semantics (zero padding on all sides, no groups/dilation).
    /// The backward needs only the weight, so no activation is kept.
    ///
    /// `allowsWinograd`: 3x3 stride-1 convolutions with padding 1 may run as Winograd's F(4x4, 3x3) from 64x64 up
    /// (4x fewer multiply-adds) or F(2x2, 3x3) from 32x32 (2.25x fewer), forward and input gradient
    /// (WinogradConvolution.swift). Their rounding error at a pixel follows the magnitude of the tile around it
    /// rather than the pixel's own terms (F(4x4, 3x3)'s is about 5x F(2x2, 3x3)'s), so a pre-activation near zero
    /// can land on the other side of a ReLU or PReLU kink than the direct sum puts it, and a gradient through
    /// that kink changes locally: ArcFace's identity-loss gradient moved 3.8e-4 (relative L2) from the
    /// upstream's with F(2x2, 3x3), 1.6e-6 without (and 5e-4 to 3e-3 with the direct form and 1e-5 noise on the
    /// input). Only networks with smooth activations (the U-Net's SiLU) pass true.
    public static func conv2d(
        _ x: Variable, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, allowsWinograd: Bool = false
    ) -> Variable {
        precondition(x.rank == 4 && weight.rank == 4, "conv2d expects x [B,C,H,W] and weight [Cout,Cin,kh,kw], got \(x.shape), \(weight.shape)")
        precondition(x.shape[1] == weight.shape[1], "conv2d: input has \(x.shape[1]) channels, weight expects \(weight.shape[1])")
        if let bias { precondition(bias.shape == [weight.shape[0]], "conv2d: bias shape \(bias.shape)") }
        let g = ConvGeometry(
            batch: x.shape[0], inChannels: x.shape[1], height: x.shape[2], width: x.shape[3],
            outChannels: weight.shape[0], kernelH: weight.shape[2], kernelW: weight.shape[3],
            stride: stride, padding: padding)
        precondition(g.outHeight > 0 && g.outWidth > 0, "conv2d: kernel larger than padded input")
        let out = Tensor(uninitializedShape: [g.batch, g.outChannels, g.outHeight, g.outWidth])
        // Chosen once, so the backward runs the form the forward ran.
        let winograd = allowsWinograd ? ConvolutionKernel.winogradTile(g) : nil
        if let winograd {
            ConvolutionKernel.winogradForward(g, tile: winograd, input: x.value.readPointer, weight: weight.readPointer, bias: bias?.readPointer, output: out.mutablePointer)
        } else {
            ConvolutionKernel.forward(g, input: x.value.readPointer, weight: weight.readPointer, bias: bias?.readPointer, output: out.mutablePointer)
        }
        withExtendedLifetime((x, weight, bias)) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: inShape)
            if let winograd {
                ConvolutionKernel.winogradBackwardInput(g, tile: winograd, gradOutput: dy.readPointer, weight: weight.readPointer, gradInput: dx.mutablePointer)
            } else {
                ConvolutionKernel.backwardInput(g, gradOutput: dy.readPointer, weight: weight.readPointer, gradInput: dx.mutablePointer)
            }
            withExtendedLifetime((dy, weight)) {}
            return [dx]
        }
    }

    /// `y = x · weightᵀ + bias` over the last axis (PyTorch `Linear`: `weight [out, in]`).
    /// Also serves 1x1 `Conv1d` weights `[out, in, 1]` applied to `[B, in, T]` via `channelsFirst`.
    public static func linear(_ x: Variable, weight: Tensor, bias: Tensor? = nil) -> Variable {
        precondition(weight.rank == 2, "linear expects weight [out, in], got \(weight.shape)")
        let (outF, inF) = (weight.shape[0], weight.shape[1])
        precondition(x.shape.last == inF, "linear: input \(x.shape) does not end in \(inF)")
        if let bias { precondition(bias.shape == [outF], "linear: bias shape \(bias.shape)") }
        let rows = x.value.count / max(inF, 1)
        var outShape = x.shape
        outShape[outShape.count - 1] = outF
        let out = Tensor(uninitializedShape: outShape)
        let o = out.mutablePointer
        if let bias {
            // Split over the threads: a ViT's MLP output is megabytes, a serial stretch on many cores.
            let po = UncheckedSendable(o), pb = UncheckedSendable(bias.readPointer)
            Parallel.forRanges(rows, grain: max(1, (1 << 16) / max(outF, 1))) { range in
                for r in range { (po.value + r * outF).update(from: pb.value, count: outF) }
            }
        }
        GEMM.multiply(
            transposeB: true, m: rows, n: outF, k: inF, a: x.value.readPointer, lda: inF,
            b: weight.readPointer, ldb: inF, beta: bias == nil ? 0 : 1, c: o, ldc: outF)
        withExtendedLifetime((x, weight, bias)) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: inShape)
            GEMM.multiply(m: rows, n: inF, k: outF, a: dy.readPointer, lda: outF, b: weight.readPointer, ldb: inF, c: dx.mutablePointer, ldc: inF)
            withExtendedLifetime((dy, weight)) {}
            return [dx]
        }
    }

    /// A pointwise (kernel size 1) `Conv1d` over `x [B, Cin, T]` with `weight [Cout, Cin]` or
    /// `[Cout, Cin, 1]`: per position, a linear map over channels.
    public static func conv1x1(_ x: Variable, weight: Tensor, bias: Tensor? = nil) -> Variable {
        precondition(x.rank == 3, "conv1x1 expects x [B, C, T], got \(x.shape)")
        let w = weight.rank == 3 ? weight.reshaped([weight.shape[0], weight.shape[1] * weight.shape[2]]) : weight
        let y = conv2d(reshape(x, [x.shape[0], x.shape[1], 1, x.shape[2]]), weight: w.reshaped([w.shape[0], w.shape[1], 1, 1]), bias: bias)
        return reshape(y, [x.shape[0], w.shape[0], x.shape[2]])
    }
}
