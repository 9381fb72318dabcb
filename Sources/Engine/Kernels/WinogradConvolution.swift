/// 3x3 stride-1 convolutions with padding 1 as Winograd's minimal filtering F(m x m, 3x3) (Lavin & Gray, 2016):
/// each m x m block of output is `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` for the (m+2)x(m+2) input tile `d` around it, so
/// the multiply-adds become (m+2)² products `U_e · V_e` (e = the positions of a transformed tile) of depth `Cin`
/// over 1/m² of the pixels. Two forms (``WinogradTile``): F(2x2, 3x3), 16/4 = 4 multiply-adds per pixel and
/// channel pair instead of 9, and F(4x4, 3x3), 36/16 = 2.25. Networks opt in
/// (``Ops/conv2d(_:weight:bias:stride:padding:allowsWinograd:)`` says why).
///
/// The input gradient of such a convolution is the same convolution of the output gradient with the weight
/// transposed over channels and flipped in both spatial axes, so it runs here too.
///
/// Work is cut by the geometry alone, never by the thread count: chunks of whole tile rows (the transformed
/// input and output of one chunk fit ``defaultChunkFloats``), and in each chunk the products cut into fixed parts of
/// ``partColumns`` tiles, each part one single-threaded GEMM. So every product has the same shape on any number
/// of threads, and the result the same bits, whatever the GEMM kernels do with a cut product.
extension ConvolutionKernel {
    /// Transformed input plus transformed output of one chunk, in floats (64 MiB; 16 and 32 MiB measured 4-20% slower per convolution on 2 cores).
    static let defaultChunkFloats = 1 << 24
    /// Tiles (columns) of one part of a product: a multiple of the micro-kernels' 16.
    static let partColumns = 256
    /// Floats between consecutive positions' slices of the transformed input and output. The slices'
    /// sizes are powers of two at the U-Net's shapes, so without it the transforms' streams would fall in one
    /// cache set, more than its ways.
    static let slicePadding = 16

    /// Set by ``ConvolutionBenchmark/withoutWinograd(_:)``.
    @TaskLocal static var winogradDisabled = false
    /// Set by ``ConvolutionBenchmark/withWinogradTile2x2(_:)``.
    @TaskLocal static var winogradLargeTileDisabled = false

    /// The Winograd form this convolution runs as, nil for the direct form: 3x3, stride 1, padding 1, fp32
    /// products (bf16's tolerance was measured on the direct form), and enough output tiles for the form's
    /// products to outweigh re-reading its transformed weights (``WinogradTile/minimumTiles``).
    static func winogradTile(_ g: ConvGeometry) -> WinogradTile? {
        guard !unfoldedOnly && !winogradDisabled && MatmulPrecision.current == .fp32
            && g.kernelH == 3 && g.kernelW == 3 && g.stride == 1 && g.padding == 1 else { return nil }
        func fits(_ tile: WinogradTile) -> Bool { tile.tiles(height: g.outHeight, width: g.outWidth) >= tile.minimumTiles }
        if !winogradLargeTileDisabled && fits(.four) { return .four }
        return fits(.two) ? .two : nil
    }

    /// The forward pass: `output = conv(input, weight) + bias`.
    static func winogradForward(
        _ g: ConvGeometry, tile: WinogradTile, input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, chunkFloats: Int = defaultChunkFloats
    ) {
        winogradBatch(g, tile: tile, weight: weight, transposedAndFlipped: false, input: input, bias: bias, output: output, chunkFloats: chunkFloats)
    }

    /// The input gradient: `gradInput = conv(gradOutput, weight transposed and flipped)`, padding 1 again.
    static func winogradBackwardInput(
        _ g: ConvGeometry, tile: WinogradTile, gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        gradInput: UnsafeMutablePointer<Float>, chunkFloats: Int = defaultChunkFloats
    ) {
        winogradBatch(g, tile: tile, weight: weight, transposedAndFlipped: true, input: gradOutput, bias: nil, output: gradInput, chunkFloats: chunkFloats)
    }

    /// Every image of the batch through one transformed weight: the layer's own (channels in to out) or its
    /// transpose and flip (out to in). Padding 1 keeps the planes' size, so both sides have `height x width`.
    private static func winogradBatch(
        _ g: ConvGeometry, tile: WinogradTile, weight: UnsafePointer<Float>, transposedAndFlipped: Bool, input: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, chunkFloats: Int
    ) {
        let (from, to) = transposedAndFlipped ? (g.outChannels, g.inChannels) : (g.inChannels, g.outChannels)
        let plane = g.height * g.width
        TensorStorage.withScratch(tile.positions * from * to) { u in
            tile.transformWeight(weight, outChannels: g.outChannels, inChannels: g.inChannels, transposedAndFlipped: transposedAndFlipped, into: u)
            for b in 0..<g.batch {
                winograd(
                    tile: tile, inChannels: from, outChannels: to, height: g.height, width: g.width, input: input + b * from * plane,
                    transformedWeight: u, bias: bias, output: output + b * to * plane, chunkFloats: chunkFloats)
            }
        }
    }

    /// One image: input `[inChannels, height, width]` to output `[outChannels, height, width]`.
    private static func winograd(
        tile: WinogradTile, inChannels: Int, outChannels: Int, height: Int, width: Int, input: UnsafePointer<Float>,
        transformedWeight u: UnsafePointer<Float>, bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, chunkFloats: Int
    ) {
        let size = tile.outputSize, positions = tile.positions
        let tileRows = (height + size - 1) / size, tileColumns = (width + size - 1) / size
        let perTileRow = positions * (inChannels + outChannels) * tileColumns
        let chunkRows = max(1, min(tileRows, chunkFloats / max(1, perTileRow)))
        let ps = UncheckedSendable(input), pd = UncheckedSendable(output), pu = UncheckedSendable(u), pb = UncheckedSendable(bias)
        TensorStorage.withScratch(positions * ((inChannels + outChannels) * chunkRows * tileColumns + 2 * slicePadding)) { scratch in
            let v = UncheckedSendable(scratch)
            var ty0 = 0
            while ty0 < tileRows {
                let count = min(chunkRows, tileRows - ty0)
                let tiles = count * tileColumns
                let vStride = inChannels * tiles + slicePadding, mStride = outChannels * tiles + slicePadding
                let m = UncheckedSendable(v.value + positions * vStride)
                EngineProfile.timed(.im2col) {
                    Parallel.forEach(inChannels, grain: max(1, 2048 / max(1, tiles))) { c in
                        tile.transformInput(
                            ps.value + c * height * width, height: height, width: width, tileRows: ty0..<(ty0 + count),
                            into: v.value + c * tiles, stride: vStride)
                    }
                }
                // V_e [inChannels x tiles] and M_e [outChannels x tiles], e-major.
                let parts = (tiles + partColumns - 1) / partColumns
                Parallel.forEach(positions * parts) { task in
                    let (e, part) = (task / parts, task % parts)
                    let lo = part * partColumns, n = min(partColumns, tiles - lo)
                    GEMM.multiply(
                        m: outChannels, n: n, k: inChannels, a: pu.value + e * outChannels * inChannels, lda: inChannels,
                        b: v.value + e * vStride + lo, ldb: tiles,
                        c: m.value + e * mStride + lo, ldc: tiles, threads: 1)
                }
                EngineProfile.timed(.im2col) {
                    Parallel.forEach(outChannels, grain: max(1, 2048 / max(1, tiles))) { c in
                        tile.transformOutput(
                            m.value + c * tiles, stride: mStride, bias: pb.value.map { $0[c] } ?? 0,
                            tileRows: ty0..<(ty0 + count), tileColumns: tileColumns,
                            into: pd.value + c * height * width, height: height, width: width)
                    }
                }
                ty0 += count
            }
        }
    }
}

extension ConvolutionBenchmark {
    /// Runs `body` with 3x3 convolutions in their direct form (shifted taps or unfolded), the algorithm
    /// before the Winograd forms.
    public static func withoutWinograd<R>(_ body: () throws -> R) rethrows -> R {
        try ConvolutionKernel.$winogradDisabled.withValue(true, operation: body)
    }

    /// The convolution form a 3x3 stride-1 padding-1 layer of this size runs as, when its network allows
    /// Winograd: "F(4x4,3x3)", "F(2x2,3x3)" or "direct".
    public static func winogradForm(height: Int, width: Int, inChannels: Int, outChannels: Int) -> String {
        let g = ConvGeometry(
            batch: 1, inChannels: inChannels, height: height, width: width, outChannels: outChannels, kernelH: 3, kernelW: 3, stride: 1, padding: 1)
        return ConvolutionKernel.winogradTile(g).map { "F(\($0.outputSize)x\($0.outputSize),3x3)" } ?? "direct"
    }

    /// Runs `body` with F(2x2, 3x3) wherever F(4x4, 3x3) would run.
    public static func withWinogradTile2x2<R>(_ body: () throws -> R) rethrows -> R {
        try ConvolutionKernel.$winogradLargeTileDisabled.withValue(true, operation: body)
    }
}
