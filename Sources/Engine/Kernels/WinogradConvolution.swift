/// 3x3 stride-1 convolutions with padding 1 as Winograd's minimal filtering F(2x2, 3x3) (Lavin & Gray, 2016):
/// each 2x2 block of output is `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for the 4x4 input tile `d` around it, so the
/// multiply-adds become 16 products `U_e · V_e` (e = the 16 positions of a transformed tile) of depth `Cin` over
/// a quarter of the pixels: 16/4 = 4 per pixel and channel pair instead of 9 (2.25x fewer). The transforms'
/// constants are 0, ±1 and ±1/2, exact in binary; the relative L2 error against a float64 sum is that of the
/// direct form (2-4e-7 at the U-Net's sizes). Networks opt in (``Ops/conv2d(_:weight:bias:stride:padding:allowsWinograd:)``
/// says why).
///
/// The input gradient of such a convolution is the same convolution of the output gradient with the weight
/// transposed over channels and flipped in both spatial axes, so it runs here too.
///
/// Work is cut by the geometry alone, never by the thread count: chunks of whole tile rows (the transformed
/// input and output of one chunk fit ``defaultChunkFloats``), and in each chunk the 16 products cut into fixed parts of
/// ``partColumns`` tiles, each part one single-threaded GEMM. So every product has the same shape on any number
/// of threads, and the result the same bits, whatever the GEMM kernels do with a cut product.
extension ConvolutionKernel {
    /// Transformed input plus transformed output of one chunk, in floats (64 MiB; 16 and 32 MiB measured 4-20% slower per convolution on 2 cores).
    static let defaultChunkFloats = 1 << 24
    /// Tiles (columns) of one part of a product: a multiple of the micro-kernels' 16.
    static let partColumns = 256
    /// Fewest tiles for the Winograd form (a 32x32 output). Below that the 16 products are too short for the
    /// weights they re-read (each `Cout x Cin`, 16/9 of the direct form's) and the per-call weight transform
    /// stops paying off.
    static let minimumTiles = 256
    /// Floats between consecutive positions' slices of the transformed input and output. The slices'
    /// sizes are powers of two at the U-Net's shapes, so without it the transforms' sixteen streams would
    /// fall in one cache set, more than its ways.
    static let slicePadding = 16

    /// Set by ``ConvolutionBenchmark/withoutWinograd(_:)``.
    @TaskLocal static var winogradDisabled = false

    /// Whether this convolution runs as F(2x2, 3x3): 3x3, stride 1, padding 1, fp32 products (bf16's
    /// tolerance was measured on the direct form), and enough output tiles.
    static func usesWinograd(_ g: ConvGeometry) -> Bool {
        !unfoldedOnly && !winogradDisabled && MatmulPrecision.current == .fp32
            && g.kernelH == 3 && g.kernelW == 3 && g.stride == 1 && g.padding == 1
            && ((g.outHeight + 1) / 2) * ((g.outWidth + 1) / 2) >= minimumTiles
    }

    /// The forward pass: `output = conv(input, weight) + bias`.
    static func winogradForward(
        _ g: ConvGeometry, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, chunkFloats: Int = defaultChunkFloats
    ) {
        winogradBatch(g, weight: weight, transposedAndFlipped: false, input: input, bias: bias, output: output, chunkFloats: chunkFloats)
    }

    /// The input gradient: `gradInput = conv(gradOutput, weight transposed and flipped)`, padding 1 again.
    static func winogradBackwardInput(
        _ g: ConvGeometry, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>, gradInput: UnsafeMutablePointer<Float>,
        chunkFloats: Int = defaultChunkFloats
    ) {
        winogradBatch(g, weight: weight, transposedAndFlipped: true, input: gradOutput, bias: nil, output: gradInput, chunkFloats: chunkFloats)
    }

    /// Every image of the batch through one transformed weight: the layer's own (channels in to out) or its
    /// transpose and flip (out to in). Padding 1 keeps the planes' size, so both sides have `height x width`.
    private static func winogradBatch(
        _ g: ConvGeometry, weight: UnsafePointer<Float>, transposedAndFlipped: Bool, input: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, chunkFloats: Int
    ) {
        let (from, to) = transposedAndFlipped ? (g.outChannels, g.inChannels) : (g.inChannels, g.outChannels)
        let plane = g.height * g.width
        TensorStorage.withScratch(16 * from * to) { u in
            transformWeight(weight, outChannels: g.outChannels, inChannels: g.inChannels, transposedAndFlipped: transposedAndFlipped, into: u)
            for b in 0..<g.batch {
                winograd(
                    inChannels: from, outChannels: to, height: g.height, width: g.width, input: input + b * from * plane,
                    transformedWeight: u, bias: bias, output: output + b * to * plane, chunkFloats: chunkFloats)
            }
        }
    }

    /// `U_e = (G g Gᵀ)_e` for every channel pair, stored `[16][rows][columns]`: for the forward pass rows are
    /// the output channels and `g = weight[row][column]`; transposed and flipped, rows are the input channels
    /// and `g[ky][kx] = weight[column][row][2 - ky][2 - kx]`.
    static func transformWeight(
        _ weight: UnsafePointer<Float>, outChannels: Int, inChannels: Int, transposedAndFlipped: Bool, into u: UnsafeMutablePointer<Float>
    ) {
        let (rows, columns) = transposedAndFlipped ? (inChannels, outChannels) : (outChannels, inChannels)
        let matrix = rows * columns
        let src = UncheckedSendable(weight), dst = UncheckedSendable(u)
        // A row's sixteen runs go through a small buffer first: written straight, the sixteen stores of each
        // channel pair land `matrix` floats apart, in one cache set at the U-Net's power-of-two sizes.
        let runStride = columns + 16
        Parallel.forEach(rows, grain: max(1, 4096 / max(1, columns))) { row in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * runStride) { buffer in
                let runs = buffer.baseAddress!
                for column in 0..<columns {
                    // The kernel's rows as SIMD3 (k[ky][kx]), flipped in both axes for the gradient.
                    let k0: SIMD3<Float>, k1: SIMD3<Float>, k2: SIMD3<Float>
                    if transposedAndFlipped {
                        let w = src.value + (column * inChannels + row) * 9
                        (k0, k1, k2) = (SIMD3(w[8], w[7], w[6]), SIMD3(w[5], w[4], w[3]), SIMD3(w[2], w[1], w[0]))
                    } else {
                        let w = src.value + (row * inChannels + column) * 9
                        (k0, k1, k2) = (SIMD3(w[0], w[1], w[2]), SIMD3(w[3], w[4], w[5]), SIMD3(w[6], w[7], w[8]))
                    }
                    // G k (4x3, rows a0...a3), then each row times Gᵀ; G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]].
                    let d = runs + column
                    @inline(__always) func store(_ i: Int, _ r: SIMD3<Float>) {
                        d[(4 * i) * runStride] = r[0]
                        d[(4 * i + 1) * runStride] = 0.5 * (r[0] + r[1] + r[2])
                        d[(4 * i + 2) * runStride] = 0.5 * (r[0] - r[1] + r[2])
                        d[(4 * i + 3) * runStride] = r[2]
                    }
                    store(0, k0)
                    store(1, 0.5 * (k0 + k1 + k2))
                    store(2, 0.5 * (k0 - k1 + k2))
                    store(3, k2)
                }
                for e in 0..<16 { (dst.value + e * matrix + row * columns).update(from: runs + e * runStride, count: columns) }
            }
        }
    }

    /// One image: input `[inChannels, height, width]` to output `[outChannels, height, width]`.
    private static func winograd(
        inChannels: Int, outChannels: Int, height: Int, width: Int, input: UnsafePointer<Float>,
        transformedWeight u: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, chunkFloats: Int
    ) {
        let tileRows = (height + 1) / 2, tileColumns = (width + 1) / 2
        let perTileRow = 16 * (inChannels + outChannels) * tileColumns
        let chunkRows = max(1, min(tileRows, chunkFloats / max(1, perTileRow)))
        let ps = UncheckedSendable(input), pd = UncheckedSendable(output), pu = UncheckedSendable(u), pb = UncheckedSendable(bias)
        TensorStorage.withScratch(16 * ((inChannels + outChannels) * chunkRows * tileColumns + 2 * slicePadding)) { scratch in
            let v = UncheckedSendable(scratch)
            var ty0 = 0
            while ty0 < tileRows {
                let count = min(chunkRows, tileRows - ty0)
                let tiles = count * tileColumns
                let vStride = inChannels * tiles + slicePadding, mStride = outChannels * tiles + slicePadding
                let m = UncheckedSendable(v.value + 16 * vStride)
                EngineProfile.timed(.im2col) {
                    Parallel.forEach(inChannels, grain: max(1, 2048 / max(1, tiles))) { c in
                        transformInput(
                            ps.value + c * height * width, height: height, width: width, tileRows: ty0..<(ty0 + count),
                            into: v.value + c * tiles, stride: vStride)
                    }
                }
                // V_e [inChannels x tiles] and M_e [outChannels x tiles], e-major.
                let parts = (tiles + partColumns - 1) / partColumns
                Parallel.forEach(16 * parts) { task in
                    let (e, part) = (task / parts, task % parts)
                    let lo = part * partColumns, n = min(partColumns, tiles - lo)
                    GEMM.multiply(
                        m: outChannels, n: n, k: inChannels, a: pu.value + e * outChannels * inChannels, lda: inChannels,
                        b: v.value + e * vStride + lo, ldb: tiles,
                        c: m.value + e * mStride + lo, ldc: tiles, threads: 1)
                }
                EngineProfile.timed(.im2col) {
                    Parallel.forEach(outChannels, grain: max(1, 2048 / max(1, tiles))) { c in
                        transformOutput(
                            m.value + c * tiles, stride: mStride, bias: pb.value.map { $0[c] } ?? 0,
                            tileRows: ty0..<(ty0 + count), tileColumns: tileColumns,
                            into: pd.value + c * height * width, height: height, width: width)
                    }
                }
                ty0 += count
            }
        }
    }

    /// `Bᵀ d B` of one channel's 4x4 tiles (rows `2ty-1 ..< 2ty+3`, columns `2tx-1 ..< 2tx+3`, zero outside the
    /// plane) for the tile rows given, written to `v[e * stride + tile]`.
    /// Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]].
    private static func transformInput(
        _ plane: UnsafePointer<Float>, height: Int, width: Int, tileRows: Range<Int>, into v: UnsafeMutablePointer<Float>, stride: Int
    ) {
        let tileColumns = (width + 1) / 2
        // Padded rows: column q holds input column q - 1; q = 0 and q > width are zero.
        let paddedWidth = 2 * tileColumns + 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * paddedWidth) { buffer in
            let rows = buffer.baseAddress!, c = rows + 4 * paddedWidth
            for ty in tileRows {
                for i in 0..<4 {
                    let row = rows + i * paddedWidth
                    let y = 2 * ty - 1 + i
                    row.update(repeating: 0, count: paddedWidth)
                    if y >= 0 && y < height { (row + 1).update(from: plane + y * width, count: width) }
                }
                // Bᵀ over the rows (whole padded lines at once), then over the columns of each tile.
                let (r0, r1, r2, r3) = (rows, rows + paddedWidth, rows + 2 * paddedWidth, rows + 3 * paddedWidth)
                let (c0, c1, c2, c3) = (c, c + paddedWidth, c + 2 * paddedWidth, c + 3 * paddedWidth)
                for q in 0..<paddedWidth {
                    c0[q] = r0[q] - r2[q]
                    c1[q] = r1[q] + r2[q]
                    c2[q] = r2[q] - r1[q]
                    c3[q] = r1[q] - r3[q]
                }
                let out = v + (ty - tileRows.lowerBound) * tileColumns
                for i in 0..<4 {
                    let line = c + i * paddedWidth
                    let (o0, o1, o2, o3) = (out + (4 * i) * stride, out + (4 * i + 1) * stride, out + (4 * i + 2) * stride, out + (4 * i + 3) * stride)
                    for tx in 0..<tileColumns {
                        let q = 2 * tx
                        let (d0, d1, d2, d3) = (line[q], line[q + 1], line[q + 2], line[q + 3])
                        o0[tx] = d0 - d2
                        o1[tx] = d1 + d2
                        o2[tx] = d2 - d1
                        o3[tx] = d1 - d3
                    }
                }
            }
        }
    }

    /// `Aᵀ M A + bias` of one channel's tiles (`m[e * stride + tile]`) into its output plane, cropping the
    /// second row and column of tiles past an odd edge. Aᵀ = [[1,1,1,0],[0,1,-1,-1]].
    private static func transformOutput(
        _ m: UnsafePointer<Float>, stride: Int, bias: Float, tileRows: Range<Int>, tileColumns: Int,
        into plane: UnsafeMutablePointer<Float>, height: Int, width: Int
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * tileColumns) { buffer in
            let top = buffer.baseAddress!, bottom = top + 2 * tileColumns
            for ty in tileRows {
                let t = m + (ty - tileRows.lowerBound) * tileColumns
                // Eight tiles at a time as SIMD8 (sixteen streams are too many pointers for the compiler to
                // vectorize itself), the rest one by one.
                var tx = 0
                while tx + 8 <= tileColumns {
                    let r = UnsafeRawPointer(t + tx)
                    func load(_ e: Int) -> SIMD8<Float> { r.loadUnaligned(fromByteOffset: 4 * e * stride, as: SIMD8<Float>.self) }
                    let (te, to, be, bo) = outputTiles(
                        load(0), load(1), load(2), load(3), load(4), load(5), load(6), load(7),
                        load(8), load(9), load(10), load(11), load(12), load(13), load(14), load(15), bias: bias)
                    for i in 0..<8 {
                        top[2 * (tx + i)] = te[i]
                        top[2 * (tx + i) + 1] = to[i]
                        bottom[2 * (tx + i)] = be[i]
                        bottom[2 * (tx + i) + 1] = bo[i]
                    }
                    tx += 8
                }
                while tx < tileColumns {
                    func load(_ e: Int) -> SIMD8<Float> { SIMD8(repeating: t[e * stride + tx]) }
                    let (te, to, be, bo) = outputTiles(
                        load(0), load(1), load(2), load(3), load(4), load(5), load(6), load(7),
                        load(8), load(9), load(10), load(11), load(12), load(13), load(14), load(15), bias: bias)
                    (top[2 * tx], top[2 * tx + 1], bottom[2 * tx], bottom[2 * tx + 1]) = (te[0], to[0], be[0], bo[0])
                    tx += 1
                }
                let y = 2 * ty
                (plane + y * width).update(from: top, count: width)
                if y + 1 < height { (plane + (y + 1) * width).update(from: bottom, count: width) }
            }
        }
    }

    /// `Aᵀ M A + bias` of eight tiles, lane by lane: their top-left, top-right, bottom-left and bottom-right outputs.
    @inline(__always)
    private static func outputTiles(
        _ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>,
        _ m4: SIMD8<Float>, _ m5: SIMD8<Float>, _ m6: SIMD8<Float>, _ m7: SIMD8<Float>,
        _ m8: SIMD8<Float>, _ m9: SIMD8<Float>, _ m10: SIMD8<Float>, _ m11: SIMD8<Float>,
        _ m12: SIMD8<Float>, _ m13: SIMD8<Float>, _ m14: SIMD8<Float>, _ m15: SIMD8<Float>, bias: Float
    ) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
        // Aᵀ over the rows of the tile (s0, s1 per column j), then over its columns.
        let s00 = m0 + m4 + m8, s01 = m1 + m5 + m9, s02 = m2 + m6 + m10, s03 = m3 + m7 + m11
        let s10 = m4 - m8 - m12, s11 = m5 - m9 - m13, s12 = m6 - m10 - m14, s13 = m7 - m11 - m15
        return (s00 + s01 + s02 + bias, s01 - s02 - s03 + bias, s10 + s11 + s12 + bias, s11 - s12 - s13 + bias)
    }
}

extension ConvolutionBenchmark {
    /// Runs `body` with 3x3 convolutions in their direct form (shifted taps or unfolded), the algorithm
    /// before F(2x2, 3x3).
    public static func withoutWinograd<R>(_ body: () throws -> R) rethrows -> R {
        try ConvolutionKernel.$winogradDisabled.withValue(true, operation: body)
    }
}
