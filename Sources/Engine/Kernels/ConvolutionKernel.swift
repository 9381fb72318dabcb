/// Geometry of a 2-D convolution over NCHW tensors (PyTorch `Conv2d` semantics, no groups or dilation).
struct ConvGeometry: Equatable {
    var batch: Int, inChannels: Int, height: Int, width: Int
    var outChannels: Int, kernelH: Int, kernelW: Int
    var stride: Int, padding: Int

    var outHeight: Int { (height + 2 * padding - kernelH) / stride + 1 }
    var outWidth: Int { (width + 2 * padding - kernelW) / stride + 1 }
    /// Rows of the unfolded (im2col) matrix: one per input channel and kernel tap.
    var patchSize: Int { inChannels * kernelH * kernelW }
    var isPointwise: Bool { kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0 }
}

/// Convolution kernels: the weight `[Cout, Cin, kh, kw]` is used as a row-major `[Cout, Cin*kh*kw]`
/// matrix against an unfolded input (im2col), processed in tiles of output rows so the unfolded
/// buffer stays small (cache-sized) whatever the image size.
enum ConvolutionKernel {
    /// Upper bound on the unfolded tile, in floats. Measured on the 256x256 U-Net: tiles between
    /// 0.5M and 4M floats perform alike; smaller tiles make the GEMMs too thin.
    static let defaultTileFloats = 1 << 20

    /// Output rows per tile so that `patchSize * rows * outWidth <= tileFloats`.
    static func tileRows(_ g: ConvGeometry, tileFloats: Int) -> Int {
        max(1, min(g.outHeight, tileFloats / max(1, g.patchSize * g.outWidth)))
    }

    /// `output = conv(input, weight) + bias`, all NCHW contiguous.
    static func forward(
        _ g: ConvGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, tileFloats: Int = defaultTileFloats
    ) {
        let (oh, ow) = (g.outHeight, g.outWidth)
        let outPlane = oh * ow
        let inPlane = g.height * g.width
        for b in 0..<g.batch {
            let src = input + b * g.inChannels * inPlane
            let dst = output + b * g.outChannels * outPlane
            fillBias(dst, bias: bias, channels: g.outChannels, plane: outPlane)
            let beta: Float = bias == nil ? 0 : 1
            if g.isPointwise {
                GEMM.multiply(
                    m: g.outChannels, n: outPlane, k: g.inChannels, a: weight, lda: g.inChannels,
                    b: src, ldb: inPlane, beta: beta, c: dst, ldc: outPlane)
                continue
            }
            let rows = tileRows(g, tileFloats: tileFloats)
            let col = UnsafeMutablePointer<Float>.allocate(capacity: g.patchSize * rows * ow)
            defer { col.deallocate() }
            var y0 = 0
            while y0 < oh {
                let n = min(rows, oh - y0) * ow
                unfold(g, input: src, rowStart: y0, rowCount: min(rows, oh - y0), into: col)
                GEMM.multiply(
                    m: g.outChannels, n: n, k: g.patchSize, a: weight, lda: g.patchSize,
                    b: col, ldb: n, beta: beta, c: dst + y0 * ow, ldc: outPlane)
                y0 += rows
            }
        }
    }

    /// `gradInput = conv^T(gradOutput, weight)`: the vector-Jacobian product w.r.t. the input.
    /// Computed tile by tile as `W^T * dY` followed by a scatter-add (col2im).
    static func backwardInput(
        _ g: ConvGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        gradInput: UnsafeMutablePointer<Float>, tileFloats: Int = defaultTileFloats
    ) {
        let (oh, ow) = (g.outHeight, g.outWidth)
        let outPlane = oh * ow
        let inPlane = g.height * g.width
        for b in 0..<g.batch {
            let dy = gradOutput + b * g.outChannels * outPlane
            let dx = gradInput + b * g.inChannels * inPlane
            if g.isPointwise {
                GEMM.multiply(
                    transposeA: true, m: g.inChannels, n: inPlane, k: g.outChannels, a: weight, lda: g.inChannels,
                    b: dy, ldb: outPlane, c: dx, ldc: inPlane)
                continue
            }
            dx.update(repeating: 0, count: g.inChannels * inPlane)
            let rows = tileRows(g, tileFloats: tileFloats)
            let col = UnsafeMutablePointer<Float>.allocate(capacity: g.patchSize * rows * ow)
            defer { col.deallocate() }
            var y0 = 0
            while y0 < oh {
                let count = min(rows, oh - y0)
                let n = count * ow
                GEMM.multiply(
                    transposeA: true, m: g.patchSize, n: n, k: g.outChannels, a: weight, lda: g.patchSize,
                    b: dy + y0 * ow, ldb: outPlane, c: col, ldc: n)
                fold(g, columns: col, rowStart: y0, rowCount: count, into: dx)
                y0 += rows
            }
        }
    }

    private static func fillBias(_ dst: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, channels: Int, plane: Int) {
        guard let bias else { return }
        let d = UncheckedSendable(dst)
        Parallel.forEach(channels, grain: max(1, 16384 / max(plane, 1))) { c in
            (d.value + c * plane).update(repeating: bias[c], count: plane)
        }
    }

    /// Writes the patch matrix `[Cin*kh*kw, rowCount*outWidth]` for output rows `rowStart...`.
    static func unfold(_ g: ConvGeometry, input: UnsafePointer<Float>, rowStart: Int, rowCount: Int, into col: UnsafeMutablePointer<Float>) {
        let ow = g.outWidth
        let n = rowCount * ow
        let taps = g.kernelH * g.kernelW
        let (h, w, s, p) = (g.height, g.width, g.stride, g.padding)
        let src = UncheckedSendable(input), dst = UncheckedSendable(col)
        Parallel.forEach(g.patchSize, grain: max(1, 8192 / max(n, 1))) { r in
            let c = r / taps, ky = (r % taps) / g.kernelW, kx = r % g.kernelW
            let plane = src.value + c * h * w
            var out = dst.value + r * n
            for oy in rowStart..<(rowStart + rowCount) {
                let iy = oy * s - p + ky
                if iy < 0 || iy >= h {
                    out.update(repeating: 0, count: ow)
                } else {
                    let line = plane + iy * w
                    if s == 1 {
                        // Valid output columns are those with 0 <= ox - p + kx < w.
                        let lo = max(0, p - kx), hi = min(ow, w + p - kx)
                        if lo > 0 { out.update(repeating: 0, count: lo) }
                        if hi > lo { (out + lo).update(from: line + (lo - p + kx), count: hi - lo) }
                        if hi < ow { (out + max(hi, lo)).update(repeating: 0, count: ow - max(hi, lo)) }
                    } else {
                        for ox in 0..<ow {
                            let ix = ox * s - p + kx
                            out[ox] = (ix >= 0 && ix < w) ? line[ix] : 0
                        }
                    }
                }
                out += ow
            }
        }
    }

    /// Adds the patch-gradient matrix back onto the input gradient (the adjoint of `unfold`).
    static func fold(_ g: ConvGeometry, columns col: UnsafePointer<Float>, rowStart: Int, rowCount: Int, into dx: UnsafeMutablePointer<Float>) {
        let ow = g.outWidth
        let n = rowCount * ow
        let taps = g.kernelH * g.kernelW
        let (h, w, s, p) = (g.height, g.width, g.stride, g.padding)
        let src = UncheckedSendable(col), dst = UncheckedSendable(dx)
        // One channel per iteration: channels write disjoint planes, so no two threads collide.
        Parallel.forEach(g.inChannels, grain: max(1, 8192 / max(n * taps, 1))) { c in
            let plane = dst.value + c * h * w
            for t in 0..<taps {
                let ky = t / g.kernelW, kx = t % g.kernelW
                var row = src.value + (c * taps + t) * n
                for oy in rowStart..<(rowStart + rowCount) {
                    let iy = oy * s - p + ky
                    if iy >= 0 && iy < h {
                        let line = plane + iy * w
                        if s == 1 {
                            let lo = max(0, p - kx), hi = min(ow, w + p - kx)
                            if hi > lo {
                                let d = line + (lo - p + kx)
                                for j in 0..<(hi - lo) { d[j] += row[lo + j] }
                            }
                        } else {
                            for ox in 0..<ow {
                                let ix = ox * s - p + kx
                                if ix >= 0 && ix < w { line[ix] += row[ox] }
                            }
                        }
                    }
                    row += ow
                }
            }
        }
    }
}
