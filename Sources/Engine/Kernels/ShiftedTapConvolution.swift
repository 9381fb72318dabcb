/// The forward pass of a stride-1 convolution without the unfolded matrix: one product per kernel tap
/// over a zero-padded copy of the input, each product's operand that copy shifted by the tap.
///
/// With the input padded to rows of `Wp = W + 2p`, output pixel `(y, x)` of tap `(ky, kx)` reads padded
/// position `(y + ky) * Wp + x + kx`: for a run of whole output rows taken at the padded width, every tap's
/// operand is the same plane at a fixed offset, an ordinary row-major matrix with the plane as its row
/// stride. So `Y = Σ_tap W_tap · shift_tap(Xp)` is `kh*kw` GEMMs of depth `Cin` accumulating in one
/// buffer; the `kw - 1` columns per row that straddle the padding are computed and dropped.
///
/// Why: im2col writes `kh*kw` copies of the input (9 for a 3x3 kernel), which the GEMM then packs again;
/// at a 256x256 U-Net level that is over half a GB of memory traffic per convolution, the part that
/// scales worst with cores. This writes one padded copy in and one copy out. Measured on 2 cores
/// (BENCHMARKS.md, `conv3x3` and `unet256-fwd reference=unfolded`): 6-7% faster per convolution on rows of
/// 128 and 256 pixels, slower on rows of 32-64 (the dropped columns' share grows and each tap's product is
/// short), hence ``usesShiftedTaps(_:)``. The input gradient stays unfolded: the same scheme with
/// transposed taps was 1-9% slower there.
extension ConvolutionKernel {
    /// Whether this convolution's forward pass runs as shifted-tap products: stride 1, not 1x1, and output
    /// rows at least 64 times as wide as the columns dropped per row (128 pixels for a 3x3 kernel).
    static func usesShiftedTaps(_ g: ConvGeometry) -> Bool {
        !unfoldedOnly && g.stride == 1 && !g.isPointwise && g.outWidth >= 64 * max(1, g.kernelW - 1)
    }

    /// Set by ``ConvolutionBenchmark/withUnfoldedConvolutions(_:)``: im2col for every convolution.
    @TaskLocal static var unfoldedOnly = false

    /// Runs `body` with the weight `[Cout, Cin, kh, kw]` rearranged tap-major, `[kh*kw][Cout][Cin]`, so
    /// each tap's matrix is an ordinary row-major operand.
    static func withTapMajorWeight<R>(_ g: ConvGeometry, _ weight: UnsafePointer<Float>, _ body: (UnsafePointer<Float>) -> R) -> R {
        let taps = g.kernelH * g.kernelW
        return TensorStorage.withScratch(taps * g.outChannels * g.inChannels) { dst in
            let src = UncheckedSendable(weight), out = UncheckedSendable(dst)
            let matrix = g.outChannels * g.inChannels
            Parallel.forEach(g.outChannels, grain: max(1, 16384 / max(1, g.inChannels * taps))) { co in
                for ci in 0..<g.inChannels {
                    let w = src.value + (co * g.inChannels + ci) * taps
                    let d = out.value + co * g.inChannels + ci
                    for t in 0..<taps { d[t * matrix] = w[t] }
                }
            }
            return body(UnsafePointer(dst))
        }
    }

    /// One batch item: `output = Σ_tap tapWeights[t] · shift_t(padded input) (+ bias)`, `tapWeights` tap-major.
    static func shiftedTaps(
        _ g: ConvGeometry, input: UnsafePointer<Float>, tapWeights: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, tileFloats: Int
    ) {
        let (oh, ow, p) = (g.outHeight, g.outWidth, g.padding)
        let wp = g.width + 2 * p
        let taps = g.kernelH * g.kernelW
        let (m, k) = (g.outChannels, g.inChannels)
        // A tile holds the padded input rows it reads and the padded-width result rows it accumulates.
        let halo = g.kernelH - 1
        let maxRows = max(1, min(oh, (tileFloats - k * halo * wp) / max(1, (k + m) * wp)))
        let bands = bandThreads(g, minimumBandRows: 1)
        let ps = UncheckedSendable(input), pd = UncheckedSendable(output), pw = UncheckedSendable(tapWeights)
        let pb = UncheckedSendable(bias)
        Parallel.forEach(bands) { band in
            let y0 = oh * band / bands, y1 = oh * (band + 1) / bands
            // Tiles of even height: a short last tile runs its products at a fraction of the rate.
            let bandRows = max(1, y1 - y0)
            let tiles = (bandRows + maxRows - 1) / maxRows
            let rows = (bandRows + tiles - 1) / tiles
            let planeCapacity = (rows + halo) * wp
            TensorStorage.withScratch(k * planeCapacity + m * rows * wp) { scratch in
                let padded = scratch, result = scratch + k * planeCapacity
                var y = y0
                while y < y1 {
                    let count = min(rows, y1 - y)
                    let plane = (count + halo) * wp
                    EngineProfile.timed(.im2col) {
                        pad(g, input: ps.value, rowStart: y - p, rowCount: count + halo, into: padded, plane: plane, parallel: bands == 1)
                    }
                    // Columns up to the last valid pixel of the last row: every tap's operand stays inside the copy.
                    let n = (count - 1) * wp + ow
                    for t in 0..<taps {
                        let (ky, kx) = (t / g.kernelW, t % g.kernelW)
                        GEMM.multiply(
                            m: m, n: n, k: k, a: pw.value + t * m * k, lda: k,
                            b: padded + ky * wp + kx, ldb: plane, beta: t == 0 ? 0 : 1, c: result, ldc: count * wp,
                            threads: bands == 1 ? EngineThreads.current : 1)
                    }
                    EngineProfile.timed(.im2col) {
                        crop(result, rowCount: count, paddedWidth: wp, width: ow, channels: m, bias: pb.value,
                             into: pd.value + y * ow, plane: oh * ow, parallel: bands == 1)
                    }
                    y += count
                }
            }
        }
    }

    /// Copies input rows `rowStart..<rowStart+rowCount` (rows outside the image are zero) of every channel,
    /// with `padding` zero columns each side, into planes of `plane` floats.
    private static func pad(
        _ g: ConvGeometry, input: UnsafePointer<Float>, rowStart: Int, rowCount: Int, into dst: UnsafeMutablePointer<Float>,
        plane: Int, parallel: Bool
    ) {
        let (h, w, p) = (g.height, g.width, g.padding)
        let wp = w + 2 * p
        let src = UncheckedSendable(input), out = UncheckedSendable(dst)
        Parallel.forEach(g.inChannels, grain: parallel ? max(1, 16384 / max(1, plane)) : Int.max) { c in
            let channel = src.value + c * h * w
            for r in 0..<rowCount {
                let line = out.value + c * plane + r * wp
                let iy = rowStart + r
                guard iy >= 0 && iy < h else {
                    line.update(repeating: 0, count: wp)
                    continue
                }
                if p > 0 {
                    line.update(repeating: 0, count: p)
                    (line + p + w).update(repeating: 0, count: p)
                }
                (line + p).update(from: channel + iy * w, count: w)
            }
        }
    }

    /// Writes the valid `width` columns of each padded-width result row (plus the channel's bias) to the output.
    private static func crop(
        _ result: UnsafePointer<Float>, rowCount: Int, paddedWidth: Int, width: Int, channels: Int, bias: UnsafePointer<Float>?,
        into dst: UnsafeMutablePointer<Float>, plane: Int, parallel: Bool
    ) {
        let src = UncheckedSendable(result), out = UncheckedSendable(dst)
        Parallel.forEach(channels, grain: parallel ? max(1, 16384 / max(1, rowCount * width)) : Int.max) { c in
            let from = src.value + c * rowCount * paddedWidth
            let to = out.value + c * plane
            for r in 0..<rowCount {
                if let bias {
                    let b = bias[c]
                    VectorMath.map(from + r * paddedWidth, to + r * width, width) { $0 + b }
                } else {
                    (to + r * width).update(from: from + r * paddedWidth, count: width)
                }
            }
        }
    }
}

/// For benchmarks that time the convolution algorithms against each other in one run.
@_spi(Benchmarks) public enum ConvolutionBenchmark {
    /// Runs `body` with every convolution started on this task unfolded (im2col), the algorithm
    /// shifted-tap convolutions replaced where they measured faster.
    public static func withUnfoldedConvolutions<R>(_ body: () throws -> R) rethrows -> R {
        try ConvolutionKernel.$unfoldedOnly.withValue(true, operation: body)
    }
}
