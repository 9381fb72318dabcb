import Engine

/// DiffuseIT on an image of any size as overlapping model-size tiles with per-step fusion
/// (MultiDiffusion, Bar-Tal et al. 2023): at every step each tile takes its own guided step from its
/// region of x_t, and the tiles' next samples are blended with ``TileGrid``'s weights (which sum to one
/// at every pixel) into one x_{t−1}. Neighbours therefore agree at every step instead of being
/// stitched once finished. The noise of a step is one ``NormalField`` over the padded image, so
/// overlapping tiles add the same noise.
///
/// Guidance split (cost per step = tiles × one whole-mode step without the target terms, plus ONE
/// global pass):
/// - per tile, against the same region of the source: key self-similarity, contrastive loss,
///   semantic divergence (each tile keeps its own previous CLS) and the range loss; one U-Net and one
///   DINO forward+backward per tile, as in whole mode;
/// - on a whole-image view (the real image area-averaged to the model size, as whole mode sees it):
///   the target terms, CLS style loss and pixel MSE to the style image (image mode) or the CLIP loss
///   (text mode). The view is built from the fused x_in (image mode) / x_mix (text mode) of the
///   previous step (the initial image at the first step), its gradient is spread back to full
///   resolution and enters every tile's loss as the linear term ⟨G, x_in⟩, so it reaches x_t through
///   that tile's U-Net like every other term. Every tile thus takes the style of one shared view,
///   at the price of a one-step lag and one DINO (image) or CLIP-views (text) pass per step.
/// - the text mode's previous CLIP loss (content-weight factor) is the global view's CLIP loss,
///   which is exactly upstream's "loss of the previous step"; at the first step it is the source's
///   (test preprocessing), as in whole mode.
///
/// When the (padded) image is a single tile there is nothing to fuse or lag: the target terms are
/// evaluated on the tile itself in the same step, and the run equals whole mode on that image.
///
/// Memory: nothing image-sized is held in the process. The source and the starting image are read a
/// tile (or a band of rows) at a time from a ``TileSource`` (libvips regions in the stage); x_t and
/// the next sample are two ``TiledCanvas``es (in a temporary file beyond `canvasMemoryLimit`); the
/// fusion holds one tile-height band of rows (``TileRowAccumulator``); the view is built from rows
/// as they become final; the output leaves row band by row band. The per-tile DINO keys of the source
/// are cached up to `referenceCacheBytes` and recomputed beyond it.
package final class TiledSampler {
    let loss: DiffuseITLoss
    let diffusion: GaussianDiffusion
    let unet: UNetModel
    package let grid: TileGrid
    /// The source image (structure losses), read by region in padded coordinates.
    let source: any TileSource
    let view: TiledView
    /// Bytes of cached source keys allowed (0 recomputes every step).
    let referenceCacheBytes: Int
    /// Bytes each full-resolution canvas may take in memory before it moves to a temporary file.
    let canvasMemoryLimit: Int

    /// Per tile: the previous guidance evaluation's CLS (semantic divergence).
    var previousCLS: [Tensor?]
    /// The text mode's previous unweighted CLIP loss.
    private(set) var previousCLIPLoss: Float?
    var cachedKeys: [Int: (unitKeys: Tensor, cls: Tensor)] = [:]
    var cachedBytes = 0
    /// DINO reference passes run so far (for tests and the plan).
    private(set) var referencePasses = 0
    /// Whether the last run's canvases lived in temporary files (for tests).
    private(set) var usedFileCanvases = false

    var parameters: DiffuseITParameters { loss.parameters }
    var dino: DINOLosses? { loss.dino }
    var clip: CLIPGuidance? { loss.clip }
    var isImageMode: Bool { loss.isImageMode }
    /// Whether the whole (padded) image is one tile: target terms in the step, no lag.
    var isSingleTile: Bool { grid.count == 1 }

    /// - Parameters:
    ///   - loss: the guidance; its style image (image mode) is at the model size, its CLIP targets
    ///     (text mode) were built from ``sourceView(_:grid:)``.
    ///   - source: the full-resolution source, read by region.
    init(
        loss: DiffuseITLoss, diffusion: GaussianDiffusion, unet: UNetModel, source: any TileSource, overlap: Int,
        referenceCacheBytes: Int = 256 << 20, canvasMemoryLimit: Int = TilingOptions().canvasMemoryLimit
    ) throws {
        let s = unet.config.imageSize
        grid = try TileGrid(width: source.width, height: source.height, tileSize: s, overlap: overlap)
        if let style = loss.style, style.shape != [1, 3, s, s] {
            throw DiffuseITError.badInput("style image must be [1, 3, \(s), \(s)], got \(style.shape)")
        }
        self.loss = loss
        self.diffusion = diffusion
        self.unet = unet
        self.source = source
        view = TiledView(width: grid.width, height: grid.height, size: s)
        self.referenceCacheBytes = referenceCacheBytes
        self.canvasMemoryLimit = canvasMemoryLimit
        previousCLS = [Tensor?](repeating: nil, count: grid.count)
        if let clip = loss.clip {
            previousCLIPLoss = try clip.loss(Variable(try TiledSampler.sourceView(source, grid: grid)), views: nil).value.scalars[0]
        }
    }

    package convenience init(
        parameters: DiffuseITParameters, diffusion: GaussianDiffusion, unet: UNetModel, dino: DINOLosses?, clip: CLIPGuidance?,
        source: any TileSource, style: Tensor?, overlap: Int, referenceCacheBytes: Int = 256 << 20,
        canvasMemoryLimit: Int = TilingOptions().canvasMemoryLimit
    ) throws {
        try self.init(loss: DiffuseITLoss(parameters: parameters, dino: dino, clip: clip, style: style),
            diffusion: diffusion, unet: unet, source: source, overlap: overlap, referenceCacheBytes: referenceCacheBytes,
            canvasMemoryLimit: canvasMemoryLimit)
    }

    /// The image the CLIP target is built from in tiled mode: the whole-image view, or the padded
    /// source itself when it is a single tile (as whole mode). Read a band of rows at a time.
    static func sourceView(_ source: any TileSource, grid: TileGrid) throws -> Tensor {
        let t = grid.tileSize
        if grid.count == 1 { return try source.region(x: 0, y: 0, width: grid.paddedWidth, height: grid.paddedHeight) }
        var builder = TiledView.Builder(TiledView(width: grid.width, height: grid.height, size: t))
        for y0 in stride(from: 0, to: grid.height, by: t) {
            builder.add(rows: try source.region(x: 0, y: y0, width: grid.width, height: min(t, grid.height - y0)), at: y0)
        }
        return builder.view
    }

    /// The guided steps of one run from index `startIndex` with `resampleCount` repeats of it (DDPM; 0 or
    /// DDIM: none).
    func schedule(startIndex k0: Int, resampleCount: Int) -> SamplingSchedule {
        SamplingSchedule(startIndex: k0, resamples: parameters.ddim ? 0 : resampleCount)
    }

    /// Guided steps of one run from index `startIndex` with `resampleCount` repeats (without restarts).
    func steps(startIndex k0: Int, resampleCount: Int) -> Int { schedule(startIndex: k0, resampleCount: resampleCount).stepCount }

    /// One output: `initial` (the image to noise: the source for `tiled`, the upscaled translation for
    /// `detail`, read by region) is forward-noised to `startIndex`, then sampled down to 0 by the
    /// shared loop (``GuidedSampling``: resampling repeats, bounded range restarts, the output x̂₀),
    /// every step fused over the tiles. The output x̂₀ leaves through `output(rows, y0)` top to bottom
    /// in bands (`[1, 3, n, width]`, padding removed) during the last step. `progress(done)` counts
    /// tile steps.
    package func run(
        initial: any TileSource, startIndex k0: Int, resampleCount: Int, rng: inout PhiloxGenerator,
        output: (Tensor, Int) throws -> Void, progress: (Int) -> Void = { _ in }, estimates: (any EstimateSink)? = nil,
        warn: (String) -> Void = { _ in }
    ) throws {
        guard initial.width == grid.width && initial.height == grid.height else {
            throw DiffuseITError.badInput("initial image must be \(grid.width)x\(grid.height), got \(initial.width)x\(initial.height)")
        }
        guard (0..<diffusion.stepCount).contains(k0) else {
            throw DiffuseITError.badParameter("start index \(k0) outside the \(diffusion.stepCount)-step schedule")
        }
        let x = try TiledCanvas(width: grid.paddedWidth, height: grid.paddedHeight, memoryLimit: canvasMemoryLimit)
        let next = try TiledCanvas(width: grid.paddedWidth, height: grid.paddedHeight, memoryLimit: canvasMemoryLimit)
        usedFileCanvases = x.isFileBacked
        let sampling = GuidedSampling(parameters: parameters, schedule: schedule(startIndex: k0, resampleCount: resampleCount), clip: clip,
            viewSize: grid.tileSize)
        // The state holds the callbacks only while the loop runs.
        try withoutActuallyEscaping(output) { output in
            try withoutActuallyEscaping(progress) { progress in
                var state = State(
                    sampler: self, initial: initial, startIndex: k0, output: output, progress: progress, estimates: estimates, x: x, next: next)
                try sampling.run(&state, rng: &rng, warn: warn)
            }
        }
    }

    /// ``run(initial:startIndex:resampleCount:rng:output:progress:warn:)`` collecting the output as
    /// one `[1, 3, H, W]` tensor (tests and small images).
    func run(
        initial: any TileSource, startIndex k0: Int, resampleCount: Int, rng: inout PhiloxGenerator,
        progress: (Int) -> Void = { _ in }, warn: (String) -> Void = { _ in }
    ) throws -> Tensor {
        let w = grid.width, h = grid.height
        var out = Tensor(shape: [1, 3, h, w], repeating: 0)
        try run(initial: initial, startIndex: k0, resampleCount: resampleCount, rng: &rng, output: { band, y0 in
            let n = band.shape[2]
            band.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for c in 0..<3 { (dst.baseAddress! + (c * h + y0) * w).update(from: src.baseAddress! + c * n * w, count: n * w) }
                }
            }
        }, progress: progress, warn: warn)
        return out
    }

    /// The fused canvases as the sampling loop's state: x_t and the next sample, and the view the
    /// target terms read (the previous step's; the initial image's at the first step).
    private struct State: GuidedSamplingState {
        let sampler: TiledSampler
        let initial: any TileSource
        let startIndex: Int
        let output: (Tensor, Int) throws -> Void
        let progress: (Int) -> Void
        let estimates: (any EstimateSink)?
        var x: TiledCanvas, next: TiledCanvas
        var currentView: Tensor?
        var firstStep = true
        var done = 0

        mutating func start(noise z: NormalField) throws {
            let grid = sampler.grid, pw = grid.paddedWidth, ph = grid.paddedHeight, t = grid.tileSize
            // x = q_sample(initial, k0) band by band; the first step's view reads the initial image.
            var initialView = sampler.isSingleTile ? nil : TiledView.Builder(sampler.view)
            for y0 in stride(from: 0, to: ph, by: t) {
                let n = min(t, ph - y0)
                let band = try initial.region(x: 0, y: y0, width: pw, height: n)
                try x.writeRows(y0, try sampler.diffusion.qSample(
                    xStart: band, t: [startIndex], noise: sampler.noiseRegion(z, x: 0, y: y0, width: pw, height: n)))
                initialView?.add(rows: band, at: y0)
            }
            currentView = initialView?.view
            firstStep = true
            done = 0
        }

        mutating func step(k: Int, noise: NormalField?, views: [[CLIPAugmentation]]?, isLast: Bool) throws -> Float {
            // The blended x̂₀ is kept for the output (last step) and for a wanted estimate.
            let estimate = estimates.flatMap { $0.wantsNextEstimate() ? $0 : nil }
            let output = self.output
            let fused = try sampler.step(x, k: k, noise: noise, views: views, view: currentView, firstStep: firstStep, into: next,
                keepOutput: isLast || estimate != nil, output: { band, y0 in
                    if isLast { try output(band, y0) }
                    try estimate?.rows(band, y0: y0)
                }) {
                done += 1
                progress(done)
            }
            try estimate?.endRows()
            firstStep = false
            if let v = fused.targetView { currentView = v }
            return fused.weightedRange
        }

        mutating func renoiseNext(_ noise: NormalField) throws {
            let s = sampler, pw = s.grid.paddedWidth
            try next.updateRows(bandHeight: s.grid.tileSize) { band, y0 in
                DiffuseITGuidance.renoise(band, noise: s.noiseRegion(noise, x: 0, y: y0, width: pw, height: band.shape[2]),
                    diffusion: s.diffusion, startIndex: startIndex)
            }
        }

        mutating func advance() { swap(&x, &next) }
    }

    /// The `w x h` rectangle at (x, y) of a noise field laid over the padded image (`[3, H', W']`
    /// row-major), as `[1, 3, h, w]`: every tile reads the same value at the same pixel.
    func noiseRegion(_ field: NormalField, x: Int, y: Int, width w: Int, height h: Int) -> Tensor {
        let ph = grid.paddedHeight, pw = grid.paddedWidth
        var out = Tensor(uninitializedShape: [1, 3, h, w])
        out.withUnsafeMutableBufferPointer { dst in
            for c in 0..<3 {
                if w == pw {
                    field.fill(UnsafeMutableBufferPointer(rebasing: dst[(c * h * w)..<((c + 1) * h * w)]), from: (c * ph + y) * pw)
                    continue
                }
                for v in 0..<h {
                    let d = (c * h + v) * w
                    field.fill(UnsafeMutableBufferPointer(rebasing: dst[d..<(d + w)]), from: (c * ph + y + v) * pw + x)
                }
            }
        }
        return out
    }

    /// What one fused step reports besides the canvas it wrote.
    struct FusedStep {
        /// range_lambda × the mean squared excess of the blended tile estimates over [−1, 1].
        var weightedRange: Float
        /// The gradient of the target terms w.r.t. the view, when they ran on the view.
        var viewGradient: Tensor?
        /// The view of the blended image the target terms read (x_in in image mode, x_mix in text
        /// mode), for the next step; nil for a single tile.
        var targetView: Tensor?
    }

    /// The fused guided step at index `k` from canvas `x` into canvas `next`. `currentView` is the
    /// view the target terms read (nil for a single tile); with `keepOutput`, `output` receives the
    /// blended x̂₀ (DDPM: unguided; DDIM: guided) in final row bands, padding removed (only the last
    /// step's is the output, so other steps skip that band); `tileDone` is called after each tile.
    func step(
        _ x: TiledCanvas, k: Int, noise: NormalField?, views: [[CLIPAugmentation]]?, view currentView: Tensor?, firstStep: Bool,
        into next: TiledCanvas, keepOutput: Bool = false, output: (Tensor, Int) throws -> Void = { _, _ in }, tileDone: () -> Void = {}
    ) throws -> FusedStep {
        let p = parameters
        let ph = grid.paddedHeight, pw = grid.paddedWidth, t = grid.tileSize
        var viewGradient: Tensor?
        if !isSingleTile {
            guard let currentView else { throw DiffuseITError.badInput("a tiled step needs the view of the previous step") }
            let global = try globalPass(currentView, views: views)
            viewGradient = global.gradient
            if let loss = global.clipLoss, !firstStep { previousCLIPLoss = loss }
        }
        let frac = loss.contentWeight(previousCLIPLoss: previousCLIPLoss)
        // One tile-height band of each blended quantity; x̂₀ only when it is the output, the target
        // only when a view exists.
        var samples = TileRowAccumulator(width: pw, height: ph, tileSize: t)
        var outputs = !keepOutput ? nil : TileRowAccumulator(width: pw, height: ph, tileSize: t)
        var targets = isSingleTile ? nil : TileRowAccumulator(width: pw, height: ph, tileSize: t)
        var nextView = isSingleTile ? nil : TiledView.Builder(view)
        let w = grid.width, h = grid.height
        func finishRows(below y: Int) throws {
            try samples.finish(below: y) { band, y0 in try next.writeRows(y0, band) }
            targets?.finish(below: y) { band, y0 in nextView?.add(rows: band, at: y0) }
            try outputs?.finish(below: y) { band, y0 in
                guard y0 < h else { return }
                try output(TiledImageOps.crop(band, x: 0, y: 0, width: w, height: min(band.shape[2], h - y0)), y0)
            }
        }
        var excess: Double = 0
        for tile in grid.tiles {
            if tile.column == 0 { try finishRows(below: tile.y) }
            let xt = try x.read(x: tile.x, y: tile.y, width: t, height: t)
            let nt = noise.map { noiseRegion($0, x: tile.x, y: tile.y, width: t, height: t) }
            let gt = viewGradient.map { view.spread($0, x: tile.x, y: tile.y, tile: t) }
            let r = try tileStep(tile, x: xt, k: k, noise: nt, views: views, viewGradient: gt, frac: frac)
            samples.add(r.sample, grid: grid, tile: tile)
            outputs?.add(r.outputXStart, grid: grid, tile: tile)
            targets?.add(r.targetInput, grid: grid, tile: tile)
            excess += r.weightedExcess
            tileDone()
        }
        try finishRows(below: ph)
        return FusedStep(weightedRange: p.rangeLambda * Float(excess / Double(3 * ph * pw)), viewGradient: viewGradient, targetView: nextView?.view)
    }

    /// The target terms on the whole-image view: CLS style + MSE to the style image (image mode) or
    /// the CLIP loss (text mode); the gradient w.r.t. the view and the unweighted CLIP loss.
    func globalPass(_ v: Tensor, views: [[CLIPAugmentation]]?) throws -> (gradient: Tensor?, clipLoss: Float?) {
        let tape = Tape()
        let vv = tape.watch(v)
        let evaluation = try loss.evaluateTargets(view: vv, views: views)
        let clipLoss = evaluation.terms[.clip]?.value.scalars[0]
        guard let total = evaluation.total else { return (nil, clipLoss) }
        return (tape.gradients(of: total, cotangent: Tensor(shape: total.shape, repeating: 1), wrt: [vv])[0], clipLoss)
    }

    /// What one tile's guided step gives the fusion.
    struct TileResult {
        var sample: Tensor, outputXStart: Tensor, targetInput: Tensor
        /// Σ over the tile of weight · (x̂₀ − clamp(x̂₀))².
        var weightedExcess: Double
    }

    /// The guided step of one tile: one U-Net forward on a tape, the per-tile terms against the
    /// source's region (plus, for a single tile, the target terms), the linear view term, the
    /// gradient through the U-Net, and the DDPM/DDIM update (``DiffuseITGuidance/update``, shared with
    /// whole mode).
    func tileStep(_ tile: TileGrid.Tile, x: Tensor, k: Int, noise: Tensor?, views: [[CLIPAugmentation]]?, viewGradient: Tensor?, frac: Float) throws -> TileResult {
        let (tape, xv, output, unguided, x0) = try DiffuseITGuidance.predictOnTape(x, k: k, unet: unet, diffusion: diffusion)
        var structure: DiffuseITLoss.Structure?
        if dino != nil {
            let reference = try sourceReference(tile)
            structure = .init(reference: reference, previousCLS: previousCLS[tile.index] ?? reference.cls)
        }
        // A single tile is the whole image: the target terms run in the step, as in whole mode.
        let evaluation = try loss.evaluate(predXStart: x0, x: xv, k: k, of: diffusion.schedule, views: views, structure: structure, targets: isSingleTile,
            contentWeight: frac, viewGradient: viewGradient)
        if let l = evaluation.terms[.clip] { previousCLIPLoss = l.value.scalars[0] }
        if let cls = evaluation.cls { previousCLS[tile.index] = cls }

        var gradient = Tensor.zeros(x.shape)
        if let total = evaluation.total {
            let dLdx = tape.gradients(of: total, cotangent: Tensor(shape: total.shape, repeating: 1), wrt: [xv])[0]
            gradient = Ops.scale(Variable(dLdx), -1).value
        }
        let (_, outputXStart, sample) = try DiffuseITGuidance.update(
            x, k: k, modelOutput: output.value, unguided: unguided, gradient: gradient, noise: noise, ddim: parameters.ddim, diffusion: diffusion)
        return TileResult(sample: sample, outputXStart: outputXStart, targetInput: evaluation.targetInput.value,
            weightedExcess: weightedExcess(x0.value, tile))
    }

    /// Σ weight · (v − clamp(v, −1, 1))² over a tile.
    func weightedExcess(_ values: Tensor, _ tile: TileGrid.Tile) -> Double {
        let t = grid.tileSize
        let cw = grid.columnWeights[tile.column], rw = grid.rowWeights[tile.row]
        var sum: Double = 0
        values.withUnsafeBufferPointer { v in
            for c in 0..<3 {
                for row in 0..<t {
                    var line: Float = 0
                    for u in 0..<t {
                        let a = v[(c * t + row) * t + u]
                        let e = a - min(max(a, -1), 1)
                        line += cw[u] * e * e
                    }
                    sum += Double(rw[row] * line)
                }
            }
        }
        return sum
    }

    /// The source region's DINO reference: cached unit keys (self-similarity recomputed, cheap), else
    /// a fresh reference pass, cached while the budget lasts.
    func sourceReference(_ tile: TileGrid.Tile) throws -> DINOLosses.Reference {
        guard let dino else { throw DiffuseITError.badInput("the DINO losses need a DINO model") }
        if let cached = cachedKeys[tile.index] {
            let unit = Variable(cached.unitKeys)
            return DINOLosses.Reference(unitKeys: cached.unitKeys, selfSimilarity: Ops.matmul(unit, unit, transposeB: true).value, cls: cached.cls)
        }
        let t = grid.tileSize
        let reference = try dino.reference(try source.region(x: tile.x, y: tile.y, width: t, height: t))
        referencePasses += 1
        let bytes = 4 * (reference.unitKeys.count + reference.cls.count)
        if cachedBytes + bytes <= referenceCacheBytes {
            cachedKeys[tile.index] = (reference.unitKeys, reference.cls)
            cachedBytes += bytes
        }
        return reference
    }
}
