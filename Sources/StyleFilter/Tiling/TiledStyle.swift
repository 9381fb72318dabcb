import Engine
import Foundation
import VipsBridge

/// How the `style` stage maps the model's square size onto an image.
public enum StyleMode: String, Sendable, CaseIterable {
    /// Upstream's way: resize to the model size (256x256), translate, resize back. Cheapest; the
    /// result has 256-pixel detail.
    case whole
    /// The full-resolution image as overlapping model-size tiles fused at every step (``TiledSampler``).
    /// Full detail; cost grows with the pixel count.
    case tiled
    /// Whole mode, upscaled, the source's fine detail added back, then a short tiled refinement from a
    /// low noise level (``TilingOptions/detailSteps`` steps from base timestep
    /// ``TilingOptions/detailLevel``).
    case detail
}

/// Settings of the tiled and detail modes.
public struct TilingOptions: Sendable, Equatable {
    /// Minimum overlap of neighbouring tiles in pixels; nil: an eighth of the tile (32 at 256), the
    /// cheapest overlap that passed the seam measurement (BENCHMARKS.md, "Tiled modes").
    public var overlap: Int?
    /// Guided steps of the detail refinement.
    public var detailSteps = 4
    /// The base-schedule timestep (of 1000) the detail refinement starts from: its noise level.
    public var detailLevel = 100
    /// Memory allowed for cached DINO keys of the source tiles (about 2.4 MB per tile for ViT-B/8;
    /// beyond it a tile's reference is recomputed every step, one DINO forward, ~2 % of a tile step).
    public var referenceCacheBytes = 256 << 20
    /// Bytes each of the run's two full-resolution float canvases (x_t and the next sample, 12 bytes
    /// per pixel) may take in memory; larger ones live in an unlinked temporary file in `$TMPDIR`
    /// (``TiledCanvas``), so resident memory does not grow with the image. 32 MiB keeps images up to
    /// about 2.8 MP in memory.
    public var canvasMemoryLimit = 32 << 20

    public init() {}

    /// The overlap used with tiles of side `tile`.
    public func overlap(forTile tile: Int) -> Int { overlap ?? tile / 8 }

    /// The detail refinement's diffusion: the linear 1000-step schedule keeping `detailSteps`
    /// timesteps evenly spread over 0…`detailLevel` (the run starts at the last).
    public func detailDiffusion() throws -> GaussianDiffusion {
        guard detailSteps >= 1 else { throw DiffuseITError.badParameter("--detail-steps must be at least 1") }
        guard (1...999).contains(detailLevel), detailSteps <= detailLevel + 1 else {
            throw DiffuseITError.badParameter("--detail-level \(detailLevel) must be in 1...999 and at least --detail-steps - 1")
        }
        let kept = detailSteps == 1 ? [detailLevel] : (0..<detailSteps).map { Int((Double($0 * detailLevel) / Double(detailSteps - 1)).rounded()) }
        return try GaussianDiffusion(baseBetas: try BetaSchedule.linear.betas(steps: 1000), keptTimesteps: kept)
    }
}

extension StyleStage {
    /// The tiled and detail modes on a 3-band 8/16-bit sRGB image: returns the translation as an
    /// 8-bit sRGB image of the same size.
    ///
    /// Nothing image-sized is built in float: the source (and detail mode's starting image, a lazy
    /// libvips upscale plus the source's fine detail) are read as libvips regions tile by tile, the
    /// sampler keeps its state in ``TiledCanvas``es, and the output rows go straight into a
    /// row-written libvips image (through one 3-byte-per-pixel buffer when colours are matched,
    /// which needs the whole output's statistics first).
    func translateTiled(_ colour: VImage, context: PipelineContext) throws -> VImage {
        var styleImage: PlanarRGB?
        if case .image(let path) = guide { styleImage = try StyleStage.loadStyleImage(path, failOn: context.failOn) }
        let networks = try models.load()
        let size = networks.unet.config.imageSize
        let width = colour.width, height = colour.height
        let dino = DINOLosses(model: networks.dino, globalPatchSize: networks.dinoPatchSize)
        let source = VipsTileSource(colour)
        let overlap = tiling.overlap(forTile: size)
        let grid = try StyleStage.wrapEngine { try TileGrid(width: width, height: height, tileSize: size, overlap: overlap) }
        let styleResized = try styleImage.map { try StyleStage.resized($0, width: size, height: size) }
        let style = styleResized.map(StyleStage.tensor)
        // Detail mode's first pass is whole mode, which sees the Lanczos-resized source.
        let wholePlanar = mode == .detail ? try StyleStage.resized(colour, width: size, height: size) : nil
        let wholeSource = wholePlanar.map(StyleStage.tensor)
        var clip: CLIPGuidance?
        if case .text(let prompt, let sourceText) = guide {
            let target = try wholeSource ?? StyleStage.wrapEngine { try TiledSampler.sourceView(source, grid: grid) }
            clip = try StyleStage.wrapEngine {
                try CLIPGuidance(models: networks.clip, targetText: prompt, sourceText: sourceText, sourceImage: target, tokenizer: CLIPTokenizer.shared)
            }
        }
        let diffusion = try StyleStage.wrapEngine {
            mode == .detail ? try tiling.detailDiffusion() : try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: parameters.timestepRespacing)
        }
        let sampler = try StyleStage.wrapEngine {
            try TiledSampler(parameters: parameters, diffusion: diffusion, unet: networks.unet, dino: dino, clip: clip, source: source, style: style,
                overlap: overlap, referenceCacheBytes: tiling.referenceCacheBytes, canvasMemoryLimit: tiling.canvasMemoryLimit)
        }
        var whole: DiffuseITSampler?
        var low: VipsTileSource?
        if let wholeSource, let wholePlanar {
            let wholeDiffusion = try StyleStage.wrapEngine { try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: parameters.timestepRespacing) }
            let guidance = try StyleStage.wrapEngine {
                try DiffuseITGuidance(parameters: parameters, diffusion: wholeDiffusion, unet: networks.unet, dino: dino, clip: clip, source: wholeSource, style: style)
            }
            whole = DiffuseITSampler(guidance: guidance)
            low = try StyleStage.upscaled(wholePlanar, width: width, height: height)
        }
        let startIndex = mode == .detail ? diffusion.stepCount - 1 : diffusion.stepCount - parameters.skipTimesteps - 1
        guard startIndex >= 0 else {
            throw StyleFilterError(.usage, "style: skip_timesteps \(parameters.skipTimesteps) leaves no step of \(diffusion.stepCount)")
        }
        let resamples = mode == .detail ? 0 : parameters.resampleCount
        let tiledSteps = sampler.steps(startIndex: startIndex, resampleCount: resamples) * grid.count
        let perOutput = tiledSteps + (whole?.stepsPerOutput ?? 0)
        let total = perOutput * iterations
        context.logger.info("style: \(mode.rawValue) mode, \(grid.columns.count)x\(grid.rows.count) tiles of \(size) (overlap \(overlap)), \(tiledSteps) tile steps per output")
        var rng = PhiloxGenerator(seed: context.seed, stream: 0x5354_594c)  // "STYL", as whole mode
        let clock = ContinuousClock(), start = clock.now
        func report(_ finished: Int) {
            context.progress?(min(99, 100 * finished / max(total, 1)))
            let elapsed = clock.now - start
            context.logger.info("style: step \(finished)/\(total), elapsed \(StyleStage.format(elapsed)), ETA \(StyleStage.format(elapsed / finished * (total - finished)))")
        }
        let warn: (String) -> Void = { context.logger.warning("\($0)") }
        let matchColours = styleResized != nil && parameters.useColormatch
        var first: VImage?
        for i in 0..<iterations {
            var initial: any TileSource = source
            if let whole, let low {
                let x0 = try StyleStage.wrapEngine {
                    try whole.run(rng: &rng, progress: { done, _ in report(i * perOutput + done) }, warn: warn)
                }
                var bytes = DiffuseITOutput.truncatedBytes(planar: x0.scalars, channels: 3)
                if let styleResized, parameters.useColormatch {
                    bytes = DiffuseITOutput.colorMatched(output: bytes, style: StyleStage.truncatedStyleBytes(styleResized))
                }
                let upscaled = try StyleStage.upscaled(StyleStage.planar(bytes: bytes, size: size), width: width, height: height)
                initial = DetailTileSource(upscaled: upscaled, source: source, low: low)
            }
            let offset = i * perOutput + (whole?.stepsPerOutput ?? 0)
            let writer = try wrap(.failure, "style: output image") { () throws(VipsError) in
                try VImageRowWriter(width: width, height: height, bands: 3, format: .uchar, interpretation: "srgb")
            }
            // Colour matching needs the whole output first; otherwise rows go straight to libvips.
            var kept = matchColours ? [UInt8](repeating: 0, count: 3 * width * height) : []
            var row = [UInt8](repeating: 0, count: 3 * width)
            try StyleStage.wrapEngine {
                try sampler.run(initial: initial, startIndex: startIndex, resampleCount: resamples, rng: &rng, output: { band, y0 in
                    let n = band.shape[2]
                    for v in 0..<n {
                        band.withUnsafeBufferPointer { DiffuseITOutput.truncatedRow($0, row: v, rows: n, into: &row) }
                        if matchColours {
                            kept.replaceSubrange((3 * width * (y0 + v))..<(3 * width * (y0 + v + 1)), with: row)
                        } else {
                            try row.withUnsafeBufferPointer { (r) throws(VipsError) in try writer.append(row: r) }
                        }
                    }
                }, progress: { done, _ in report(offset + done) }, warn: warn)
            }
            if let styleResized, matchColours {
                TiledColorMatching.mkl(&kept, style: StyleStage.truncatedStyleBytes(styleResized))
                try wrap(.failure, "style: output image") { () throws(VipsError) in
                    for y in 0..<height {
                        try kept[(3 * width * y)..<(3 * width * (y + 1))].withUnsafeBufferPointer { (r) throws(VipsError) in try writer.append(row: r) }
                    }
                }
                kept = []
            }
            let result = try wrap(.failure, "style: output image") { () throws(VipsError) in try writer.finish() }
            if let directory = iterationsDirectory {
                try StyleStage.write(result, to: URL(fileURLWithPath: directory).appendingPathComponent("style_i_\(i).png").path)
            }
            if first == nil { first = result }
        }
        context.progress?(100)
        return first!
    }

    /// A small planar image Lanczos-upscaled (16-bit intermediate) to `width x height`, lazily: read
    /// by region, only the tiles asked for are computed.
    static func upscaled(_ p: PlanarRGB, width: Int, height: Int) throws -> VipsTileSource {
        try wrap(.failure, "style: resize") { () throws(VipsError) in
            let image = try VImage.fromPlanarRGB(p, depth: .sixteen)
            let scaled = try image.resize(scale: Double(width) / Double(p.width), verticalScale: Double(height) / Double(p.height))
            return VipsTileSource(scaled, width: width, height: height)
        }
    }
}

/// ``ColorMatching/mkl(source:reference:)`` for a full-resolution output without float64 copies of
/// it: the same arithmetic in the same order, streamed over the bytes and written in place (identical
/// results).
enum TiledColorMatching {
    static func mkl(_ output: inout [UInt8], style: [UInt8]) {
        let ref = ColorMatching.minMaxNormalized(style.map(Double.init))
        let (muR, covR) = ColorMatching.meanAndCovariance(ref)
        let lo = Double(output.min() ?? 0), hi = Double(output.max() ?? 0), range = hi - lo
        let n = output.count / 3
        @inline(__always) func norm(_ v: UInt8) -> Double { range > 0 ? (Double(v) - lo) / range : 0 }
        var mu = [0.0, 0.0, 0.0]
        for p in 0..<n { for c in 0..<3 { mu[c] += norm(output[3 * p + c]) } }
        mu = mu.map { $0 / Double(n) }
        var cov = [Double](repeating: 0, count: 9)
        for p in 0..<n {
            for a in 0..<3 {
                for b in 0..<3 { cov[3 * a + b] += (norm(output[3 * p + a]) - mu[a]) * (norm(output[3 * p + b]) - mu[b]) }
            }
        }
        cov = cov.map { $0 / Double(n - 1) }
        let t = ColorMatching.transferMatrix(sourceCovariance: cov, referenceCovariance: covR)
        func matched(_ p: Int, _ r: Int) -> Double {
            let d = (norm(output[3 * p]) - mu[0], norm(output[3 * p + 1]) - mu[1], norm(output[3 * p + 2]) - mu[2])
            return t[3 * r] * d.0 + t[3 * r + 1] * d.1 + t[3 * r + 2] * d.2 + muR[r]
        }
        var mLo = Double.infinity, mHi = -Double.infinity
        for p in 0..<n { for r in 0..<3 { let v = matched(p, r); mLo = min(mLo, v); mHi = max(mHi, v) } }
        let mRange = mHi - mLo
        for p in 0..<n {
            // All three channels read the pixel's old values before any is replaced.
            let m = (matched(p, 0), matched(p, 1), matched(p, 2))
            for (r, v) in [m.0, m.1, m.2].enumerated() {
                let s = mRange > 0 ? (v - mLo) / mRange : 0
                output[3 * p + r] = UInt8(clamping: Int((s * 255).rounded(.toNearestOrEven)))
            }
        }
    }
}
