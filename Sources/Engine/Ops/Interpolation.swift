#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Ops {
    /// Bilinear resize of `x [B, C, H, W]` to `[B, C, height, width]` with PyTorch's
    /// `F.interpolate(mode: "bilinear", align_corners: false)` semantics for a requested size (no
    /// antialiasing): the torchvision tensor `Resize` DiffuseIT puts inside its gradient path.
    /// Differentiable with respect to `x`.
    public static func resizeBilinear(_ x: Variable, height: Int, width: Int) -> Variable {
        precondition(x.rank == 4 && height > 0 && width > 0, "resizeBilinear expects [B,C,H,W] and a positive size, got \(x.shape) -> \(height)x\(width)")
        let (planes, inH, inW) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        if inH == height && inW == width { return x }
        let rows = LinearTaps(inSize: inH, outSize: height), cols = LinearTaps(inSize: inW, outSize: width)
        let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], height, width])
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer)
        Parallel.forEach(planes, grain: max(1, 16384 / max(height * width, 1))) { p in
            let s = src.value + p * inH * inW, d = dst.value + p * height * width
            for i in 0..<height {
                let r0 = s + rows.index0[i] * inW, r1 = s + rows.index1[i] * inW
                let (a0, a1) = (rows.weight0[i], rows.weight1[i])
                for j in 0..<width {
                    let (c0, c1) = (cols.index0[j], cols.index1[j])
                    let (b0, b1) = (cols.weight0[j], cols.weight1[j])
                    d[i * width + j] = a0 * (b0 * r0[c0] + b1 * r0[c1]) + a1 * (b0 * r1[c0] + b1 * r1[c1])
                }
            }
        }
        withExtendedLifetime(x) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            // Adjoint: scatter each output gradient onto its four taps, one plane per thread.
            let dx = Tensor.zeros(inShape)
            let g = UncheckedSendable(dy.readPointer), o = UncheckedSendable(dx.mutablePointer)
            Parallel.forEach(planes, grain: max(1, 16384 / max(height * width, 1))) { p in
                let gp = g.value + p * height * width, d = o.value + p * inH * inW
                for i in 0..<height {
                    let r0 = d + rows.index0[i] * inW, r1 = d + rows.index1[i] * inW
                    let (a0, a1) = (rows.weight0[i], rows.weight1[i])
                    for j in 0..<width {
                        let v = gp[i * width + j]
                        let (c0, c1) = (cols.index0[j], cols.index1[j])
                        let (b0, b1) = (cols.weight0[j], cols.weight1[j])
                        r0[c0] += a0 * b0 * v
                        r0[c1] += a0 * b1 * v
                        r1[c0] += a1 * b0 * v
                        r1[c1] += a1 * b1 * v
                    }
                }
            }
            withExtendedLifetime(dy) {}
            return [dx]
        }
    }
}

/// Source taps of 1-D linear interpolation, `align_corners=False`, for a requested output size:
/// `src = (dst + 0.5)·in/out − 0.5` clamped below at 0, computed in float like PyTorch's CPU kernel.
struct LinearTaps: Sendable {
    var index0: [Int] = [], index1: [Int] = []
    var weight0: [Float] = [], weight1: [Float] = []

    init(inSize: Int, outSize: Int) {
        let scale = Float(inSize) / Float(outSize)
        for i in 0..<outSize {
            let src = max(scale * (Float(i) + 0.5) - 0.5, 0)
            let i0 = Int(src)
            let i1 = i0 + (i0 < inSize - 1 ? 1 : 0)
            let l1 = src - Float(i0)
            index0.append(i0); index1.append(i1)
            weight0.append(1 - l1); weight1.append(l1)
        }
    }
}

/// Resampling of constant tensors (no gradient), for weights such as positional embeddings.
enum Resample {
    /// Bicubic resampling of `x [B, C, H, W]` to `[B, C, outHeight, outWidth]` with PyTorch's
    /// `F.interpolate(mode: "bicubic", align_corners: false)` semantics (cubic coefficient A = −0.75,
    /// taps clamped to the border, no antialiasing).
    ///
    /// When `scaleFactor` is given, source coordinates use it, as PyTorch does for an explicit
    /// `scale_factor`: `src = (dst + 0.5) / scale − 0.5`; otherwise they use `in/out`. This matters for
    /// DINO, whose `scale_factor` carries a +0.1 that shifts every coordinate.
    static func bicubic(_ x: Tensor, outHeight: Int, outWidth: Int, scaleFactor: (height: Double, width: Double)? = nil) -> Tensor {
        precondition(x.rank == 4 && outHeight > 0 && outWidth > 0, "bicubic expects [B,C,H,W] and a positive size, got \(x.shape) -> \(outHeight)x\(outWidth)")
        let (planes, inH, inW) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let rows = CubicTaps(inSize: inH, outSize: outHeight, scale: scaleFactor.map { Float(1 / $0.height) })
        let cols = CubicTaps(inSize: inW, outSize: outWidth, scale: scaleFactor.map { Float(1 / $0.width) })
        let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], outHeight, outWidth])
        let src = x.readPointer, dst = out.mutablePointer
        for p in 0..<planes {
            let s = src + p * inH * inW, d = dst + p * outHeight * outWidth
            for i in 0..<outHeight {
                for j in 0..<outWidth {
                    var acc: Float = 0
                    for a in 0..<4 {
                        let line = s + rows.index[4 * i + a] * inW
                        var rowSum: Float = 0
                        for b in 0..<4 { rowSum += cols.weight[4 * j + b] * line[cols.index[4 * j + b]] }
                        acc += rows.weight[4 * i + a] * rowSum
                    }
                    d[i * outWidth + j] = acc
                }
            }
        }
        withExtendedLifetime(x) {}
        return out
    }
}

/// The four clamped source indices and cubic-convolution weights of each output position.
struct CubicTaps {
    var index: [Int] = [], weight: [Float] = []

    init(inSize: Int, outSize: Int, scale: Float?) {
        let a: Float = -0.75
        let s = scale ?? Float(inSize) / Float(outSize)
        // PyTorch's cubic_convolution1 (|t| <= 1) and cubic_convolution2 (1 < |t| < 2).
        func near(_ t: Float) -> Float { ((a + 2) * t - (a + 3)) * t * t + 1 }
        func far(_ t: Float) -> Float { ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
        for i in 0..<outSize {
            let src = s * (Float(i) + 0.5) - 0.5  // not clamped for cubic
            let base = floorf(src)
            let t = src - base
            let i0 = Int(base)
            let w = [far(t + 1), near(t), near(1 - t), far(2 - t)]
            for k in 0..<4 {
                index.append(min(max(i0 - 1 + k, 0), inSize - 1))
                weight.append(w[k])
            }
        }
    }
}
