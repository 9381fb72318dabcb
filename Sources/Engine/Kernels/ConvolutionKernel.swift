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
/// buffer stays small whatever the image size. The forward pass of stride-1 convolutions over wide rows
/// skips the unfolding and runs one product per kernel tap instead (ShiftedTapConvolution.swift); 1x1
/// ones are a single GEMM.
///
/// Threading: on large images each thread takes its own band of output rows and runs unfold and a
/// single-threaded GEMM per tile (no barrier between them, the tile stays in that core's cache).
/// Small images with many channels (too few columns to amortise packing the weights per thread)
/// instead run the tiles in order with the GEMM split over the weight rows.
enum ConvolutionKernel {
    /// Upper bound on one thread's unfolded tile, in floats (16 MiB). OpenBLAS re-packs the weights
    /// for every tile, so tiles need many columns: with 1M-float tiles split over both threads a
    /// 256x256 U-Net forward spent 7-10% of its samples re-packing weights (perf), with these ~2.5%.
    static let defaultTileFloats = 1 << 22
    /// Fewest output columns per thread for which each thread works on its own rows.
    static let minimumColumnsPerThread = 512

    /// Output rows per tile so that `patchSize * rows * outWidth <= tileFloats`.
    static func tileRows(_ g: ConvGeometry, tileFloats: Int) -> Int {
        max(1, min(g.outHeight, tileFloats / max(1, g.patchSize * g.outWidth)))
    }

    /// The tile of a convolution whose GEMMs are split over the threads: one thread's tile per thread, the
    /// memory bands would take. Every tile's product is cut over all threads and each part packs the whole
    /// of the operand it shares, so the smaller the tile, the more of that packing per multiply-add: with a
    /// single thread's tile, a 3x3 convolution over 512 channels at 64x64 cut 16 ways (where bands stop)
    /// took 1.45-1.7x the thread time of the same convolution in two bands, with this 1.06x
    /// (BENCHMARKS.md, "Cut for 16 threads").
    static func sharedTileFloats(_ tileFloats: Int) -> Int {
        tileFloats.multipliedReportingOverflow(by: EngineThreads.current).overflow ? Int.max : tileFloats * EngineThreads.current
    }

    /// Threads that each take a band of rows, or 1 when the image is too small for that.
    static func bandThreads(_ g: ConvGeometry, minimumBandRows: Int) -> Int {
        let threads = EngineThreads.current
        guard threads > 1, g.outHeight * g.outWidth / threads >= minimumColumnsPerThread,
            g.outHeight / threads >= minimumBandRows
        else { return 1 }
        return threads
    }

    /// `output = conv(input, weight) + bias`, all NCHW contiguous.
    static func forward(
        _ g: ConvGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, tileFloats: Int = defaultTileFloats
    ) {
        let (oh, ow) = (g.outHeight, g.outWidth)
        let outPlane = oh * ow
        let inPlane = g.height * g.width
        let beta: Float = bias == nil ? 0 : 1
        if usesShiftedTaps(g) {
            withTapMajorWeight(g, weight) { taps in
                for b in 0..<g.batch {
                    shiftedTaps(
                        g, input: input + b * g.inChannels * inPlane, tapWeights: taps, bias: bias,
                        output: output + b * g.outChannels * outPlane, tileFloats: tileFloats)
                }
            }
            return
        }
        for b in 0..<g.batch {
            let src = input + b * g.inChannels * inPlane
            let dst = output + b * g.outChannels * outPlane
            fillBias(dst, bias: bias, channels: g.outChannels, plane: outPlane)
            if g.isPointwise {
                GEMM.multiply(
                    m: g.outChannels, n: outPlane, k: g.inChannels, a: weight, lda: g.inChannels,
                    b: src, ldb: inPlane, beta: beta, c: dst, ldc: outPlane)
                continue
            }
            let bands = bandThreads(g, minimumBandRows: 1)
            let maxRows = tileRows(g, tileFloats: bands == 1 ? sharedTileFloats(tileFloats) : tileFloats)
            let ps = UncheckedSendable(src), pd = UncheckedSendable(dst), pw = UncheckedSendable(weight)
            // One band per thread (or the whole image, with GEMMs split over the weight rows).
            Parallel.forEach(bands) { band in
                let y0 = oh * band / bands, y1 = oh * (band + 1) / bands
                let rows = min(maxRows, y1 - y0)
                // From the pool: a fresh 16 MiB block per call was page-faulted anew every time.
                TensorStorage.withScratch(g.patchSize * rows * ow) { col in
                    var y = y0
                    while y < y1 {
                        let count = min(rows, y1 - y)
                        let n = count * ow
                        EngineProfile.timed(.im2col) { unfold(g, input: ps.value, rowStart: y, rowCount: count, into: col, parallel: bands == 1) }
                        GEMM.multiply(
                            m: g.outChannels, n: n, k: g.patchSize, a: pw.value, lda: g.patchSize,
                            b: col, ldb: n, beta: beta, c: pd.value + y * ow, ldc: outPlane, threads: bands == 1 ? EngineThreads.current : 1)
                        y += count
                    }
                }
            }
        }
    }

    /// `gradInput = conv^T(gradOutput, weight)`: the vector-Jacobian product w.r.t. the input.
    /// Computed tile by tile as `W^T * dY` followed by a scatter-add (col2im).
    ///
    /// The result has the same bits whatever the tiles and the thread count: every input pixel adds its
    /// taps in kernel order, as one tile over the whole image would. A lower output row reaches a pixel
    /// through a smaller kernel row, so tiles are folded from the bottom of the image up. Bands of rows
    /// run in parallel: neighbouring bands overlap in the input, so even bands run first, then odd ones,
    /// and the input rows an even band shares with the odd band below it are added last (its contributions
    /// there come after that band's in kernel order).
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
            Parallel.zero(dx, count: g.inChannels * inPlane)
            let pdy = UncheckedSendable(dy), pdx = UncheckedSendable(dx), pw = UncheckedSendable(weight)
            // `W^T * dY` for output rows `y..<y + count` into `col`, GEMM split over `threads`.
            func columns(_ col: UnsafeMutablePointer<Float>, rows y: Int, count: Int, threads: Int) {
                GEMM.multiply(
                    transposeA: true, m: g.patchSize, n: count * ow, k: g.outChannels, a: pw.value, lda: g.patchSize,
                    b: pdy.value + y * ow, ldb: outPlane, c: col, ldc: count * ow, threads: threads)
            }
            // An even band ending at output row `y1` shares the input rows from `sharedFrom(y1)` on with the odd
            // band below; only its last `shared` output rows reach them (see the doc comment).
            let shared = (g.kernelH - 1) / g.stride
            func sharedFrom(_ y1: Int) -> Int { max(0, y1 * g.stride - g.padding) }
            // Output rows `y0..<y1` in tiles from the bottom up, each folded onto the input. With `keep`, the
            // bottom tile's contributions to input rows from `heldFrom` on are held back: the columns of its
            // last `shared` rows (the only ones reaching there) are copied to `keep`, to be folded later.
            func foldRows(_ y0: Int, _ y1: Int, maxRows: Int, threads: Int, keep: UnsafeMutablePointer<Float>? = nil, heldFrom: Int = 0) {
                let bottomRows = keep == nil ? maxRows : max(maxRows, shared)
                TensorStorage.withScratch(g.patchSize * min(bottomRows, max(1, y1 - y0)) * ow) { col in
                    var y = y1
                    while y > y0 {
                        let count = min(y == y1 ? bottomRows : maxRows, y - y0)
                        y -= count
                        columns(col, rows: y, count: count, threads: threads)
                        let held = keep != nil && y + count == y1
                        EngineProfile.timed(.im2col) {
                            fold(g, columns: col, rowStart: y, rowCount: count, into: pdx.value,
                                inputRows: held ? 0..<heldFrom : nil, parallel: threads > 1)
                        }
                        if held, let keep {
                            let n = count * ow, tail = shared * ow
                            for r in 0..<g.patchSize { (keep + r * tail).update(from: col + r * n + n - tail, count: tail) }
                        }
                    }
                }
            }
            // Bands separated by one band of at least `gap` rows touch disjoint input rows.
            let gap = max(1, (g.kernelH + g.stride - 1) / g.stride)
            let threads = bandThreads(g, minimumBandRows: 2 * gap)
            if threads == 1 {
                foldRows(0, oh, maxRows: tileRows(g, tileFloats: sharedTileFloats(tileFloats)), threads: EngineThreads.current)
                continue
            }
            let maxRows = tileRows(g, tileFloats: tileFloats)
            let bands = 2 * threads
            func rows(_ band: Int) -> (y0: Int, y1: Int) { (oh * band / bands, oh * (band + 1) / bands) }
            let keptFloats = g.patchSize * shared * ow
            TensorStorage.withScratch(max(1, threads * keptFloats)) { keptColumns in
                let kept = UncheckedSendable(keptColumns)
                Parallel.forEach(threads) { t in
                    let (y0, y1) = rows(2 * t)
                    foldRows(y0, y1, maxRows: maxRows, threads: 1, keep: shared > 0 ? kept.value + t * keptFloats : nil,
                        heldFrom: sharedFrom(y1))
                }
                Parallel.forEach(threads) { t in
                    let (y0, y1) = rows(2 * t + 1)
                    foldRows(y0, y1, maxRows: maxRows, threads: 1)
                }
                guard shared > 0 else { return }
                Parallel.forEach(threads) { t in
                    let y1 = rows(2 * t).y1
                    EngineProfile.timed(.im2col) {
                        fold(g, columns: kept.value + t * keptFloats, rowStart: y1 - shared, rowCount: shared,
                            into: pdx.value, inputRows: sharedFrom(y1)..<g.height, parallel: false)
                    }
                }
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
    static func unfold(
        _ g: ConvGeometry, input: UnsafePointer<Float>, rowStart: Int, rowCount: Int, into col: UnsafeMutablePointer<Float>,
        parallel: Bool = true
    ) {
        let ow = g.outWidth
        let n = rowCount * ow
        let taps = g.kernelH * g.kernelW
        let (h, w, s, p) = (g.height, g.width, g.stride, g.padding)
        let src = UncheckedSendable(input), dst = UncheckedSendable(col)
        Parallel.forEach(g.patchSize, grain: parallel ? max(1, 8192 / max(n, 1)) : Int.max) { r in
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

    /// Adds the patch-gradient matrix back onto the input gradient (the adjoint of `unfold`), only onto
    /// the input rows in `inputRows`. Each input pixel takes these output rows' contributions in kernel order.
    static func fold(
        _ g: ConvGeometry, columns col: UnsafePointer<Float>, rowStart: Int, rowCount: Int, into dx: UnsafeMutablePointer<Float>,
        inputRows: Range<Int>? = nil, parallel: Bool = true
    ) {
        let inputRows = inputRows ?? 0..<g.height
        let ow = g.outWidth
        let n = rowCount * ow
        let taps = g.kernelH * g.kernelW
        let (h, w, s, p) = (g.height, g.width, g.stride, g.padding)
        let src = UncheckedSendable(col), dst = UncheckedSendable(dx)
        // One channel per iteration: channels write disjoint planes, so no two threads collide.
        Parallel.forEach(g.inChannels, grain: parallel ? max(1, 8192 / max(n * taps, 1)) : Int.max) { c in
            let plane = dst.value + c * h * w
            for t in 0..<taps {
                let ky = t / g.kernelW, kx = t % g.kernelW
                var row = src.value + (c * taps + t) * n
                for oy in rowStart..<(rowStart + rowCount) {
                    let iy = oy * s - p + ky
                    if iy >= 0 && iy < h && inputRows.contains(iy) {
                        let line = plane + iy * w
                        if s == 1 {
                            let lo = max(0, p - kx), hi = min(ow, w + p - kx)
                            if hi > lo {
                                let d = line + (lo - p + kx)
                                VectorMath.map2(d, row + lo, d, hi - lo) { $0 + $1 }
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
