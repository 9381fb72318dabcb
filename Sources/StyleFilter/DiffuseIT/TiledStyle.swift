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
    /// `process` for the tiled and detail modes.
    func processTiled(_ pixels: PlanarRGB, context: PipelineContext) throws -> PlanarRGB {
        var styleImage: PlanarRGB?
        if case .image(let path) = guide { styleImage = try StyleStage.loadStyleImage(path, failOn: context.failOn) }
        let networks = try models.load()
        let size = networks.unet.config.imageSize
        let dino = DINOLosses(model: networks.dino, globalPatchSize: networks.dinoPatchSize)
        let source = StyleStage.tensor(pixels)
        let overlap = tiling.overlap(forTile: size)
        let grid = try StyleStage.wrapEngine { try TileGrid(width: pixels.width, height: pixels.height, tileSize: size, overlap: overlap) }
        let styleResized = try styleImage.map { try StyleStage.resized($0, width: size, height: size) }
        let style = styleResized.map(StyleStage.tensor)
        // Detail mode's first pass is whole mode, which sees the Lanczos-resized source.
        let wholeSource = mode == .detail ? StyleStage.tensor(try StyleStage.resized(pixels, width: size, height: size)) : nil
        var clip: CLIPGuidance?
        if case .text(let prompt, let sourceText) = guide {
            let target = try wholeSource ?? TiledSampler.sourceView(source, grid: grid)
            clip = try StyleStage.wrapEngine {
                try CLIPGuidance(models: networks.clip, targetText: prompt, sourceText: sourceText, sourceImage: target, tokenizer: CLIPTokenizer.shared)
            }
        }
        let diffusion = try StyleStage.wrapEngine {
            mode == .detail ? try tiling.detailDiffusion() : try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: parameters.timestepRespacing)
        }
        let sampler = try StyleStage.wrapEngine {
            try TiledSampler(parameters: parameters, diffusion: diffusion, unet: networks.unet, dino: dino, clip: clip, source: source, style: style,
                overlap: overlap, referenceCacheBytes: tiling.referenceCacheBytes)
        }
        var whole: DiffuseITSampler?
        if let wholeSource {
            let wholeDiffusion = try StyleStage.wrapEngine { try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: parameters.timestepRespacing) }
            let guidance = try StyleStage.wrapEngine {
                try DiffuseITGuidance(parameters: parameters, diffusion: wholeDiffusion, unet: networks.unet, dino: dino, clip: clip, source: wholeSource, style: style)
            }
            whole = DiffuseITSampler(guidance: guidance)
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
        var first: PlanarRGB?
        for i in 0..<iterations {
            var initial = source
            if let whole {
                let x0 = try StyleStage.wrapEngine {
                    try whole.run(rng: &rng, progress: { done, _ in report(i * perOutput + done) }, warn: warn)
                }
                var bytes = DiffuseITOutput.truncatedBytes(planar: x0.scalars, channels: 3)
                if let styleResized, parameters.useColormatch {
                    bytes = DiffuseITOutput.colorMatched(output: bytes, style: StyleStage.truncatedStyleBytes(styleResized))
                }
                let upscaled = try StyleStage.resized(StyleStage.planar(bytes: bytes, size: size), width: pixels.width, height: pixels.height)
                initial = StyleStage.tensor(try StyleStage.withSourceDetail(upscaled, source: pixels, size: size))
            }
            let offset = i * perOutput + (whole?.stepsPerOutput ?? 0)
            let x0 = try StyleStage.wrapEngine {
                try sampler.run(initial: initial, startIndex: startIndex, resampleCount: resamples, rng: &rng,
                    progress: { done, _ in report(offset + done) }, warn: warn)
            }
            var bytes = DiffuseITOutput.truncatedBytes(planar: x0.scalars, channels: 3)
            if let styleResized, parameters.useColormatch {
                bytes = TiledColorMatching.mkl(output: bytes, style: StyleStage.truncatedStyleBytes(styleResized))
            }
            let result = StyleStage.planar(bytes: bytes, width: pixels.width, height: pixels.height)
            if let directory = iterationsDirectory {
                try StyleStage.write(result, to: URL(fileURLWithPath: directory).appendingPathComponent("style_i_\(i).png").path)
            }
            if first == nil { first = result }
        }
        context.progress?(100)
        return first!
    }

    /// `upscaled` plus the detail the model-size pass cannot carry: source − (source resized to the
    /// model size and back), clamped to [0, 1].
    static func withSourceDetail(_ upscaled: PlanarRGB, source: PlanarRGB, size: Int) throws -> PlanarRGB {
        let low = try resized(try resized(source, width: size, height: size), width: source.width, height: source.height)
        var out = upscaled
        for i in 0..<out.samples.count {
            out.samples[i] = min(max(upscaled.samples[i] + source.samples[i] - low.samples[i], 0), 1)
        }
        return out
    }

    /// Interleaved 8-bit RGB → planar [0, 1].
    static func planar(bytes: [UInt8], width: Int, height: Int) -> PlanarRGB {
        let plane = width * height
        var samples = [Float](repeating: 0, count: 3 * plane)
        for p in 0..<plane { for c in 0..<3 { samples[c * plane + p] = Float(bytes[p * 3 + c]) / 255 } }
        return PlanarRGB(width: width, height: height, samples: samples)
    }
}

extension TiledSampler {
    /// The source image the CLIP target is built from in tiled mode: the whole-image view, or the
    /// padded source itself when it is a single tile (as whole mode).
    public static func sourceView(_ source: Tensor, grid: TileGrid) -> Tensor {
        let padded = TiledImageOps.mirrorPadded(source, width: grid.paddedWidth, height: grid.paddedHeight)
        return grid.count == 1 ? padded : TiledView(width: grid.width, height: grid.height, size: grid.tileSize).view(of: padded)
    }
}

/// ``ColorMatching/mkl(source:reference:)`` for a full-resolution output without float64 copies of
/// it: the same arithmetic in the same order, streamed over the bytes (identical results).
enum TiledColorMatching {
    static func mkl(output: [UInt8], style: [UInt8]) -> [UInt8] {
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
        var bytes = [UInt8](repeating: 0, count: output.count)
        for p in 0..<n {
            for r in 0..<3 {
                let s = mRange > 0 ? (matched(p, r) - mLo) / mRange : 0
                bytes[3 * p + r] = UInt8(clamping: Int((s * 255).rounded(.toNearestOrEven)))
            }
        }
        return bytes
    }
}
