import Engine
import Foundation
import StyleFilter
import VipsBridge

/// `tiles-whole`, `tiles-tiled`, `tiles-detail [size=WxH] [steps=N] [overlap=N]`: the three `style`
/// modes in image mode on the full official architectures with random weights (ADM 256x256 uncond
/// U-Net, DINO ViT-B/8), timed for a few guided steps and EXTRAPOLATED to whole runs of the `paper`
/// (129 steps) and `fast` (64 steps) image presets; detail adds its 4 refinement steps to a whole run.
/// Seconds per megapixel are given for the measured size and, from the measured tile step, for a
/// 12 MP (4000x3000) photo. Peak RSS is the process's VmHWM after the timed steps.
enum BenchTiles {
    /// Guided steps per output of the image presets (paper: N 200, skip 80, 10 repeats; fast: N 100,
    /// skip 40, 5 repeats).
    static let paperSteps = 129, fastSteps = 64
    /// sgemm GFLOP/s measured at the start of the run (multiply seconds by it for the load-independent
    /// sgemm-GFLOP equivalent; divide that by an idle machine's sgemm rate for its time).
    nonisolated(unsafe) static var sgemmGFLOPS = 0.0

    struct Setup {
        let unet: UNetModel
        let dino: DINOLosses
        let parameters: DiffuseITParameters
    }

    static func setup() throws -> Setup {
        let sgemm = BenchUNet.sgemmGFLOPS().gflops
        sgemmGFLOPS = sgemm
        Bench.log("sgemm \(String(format: "%.1f", sgemm)) GFLOP/s on \(EngineThreads.current) threads")
        let config = UNetConfig.imageNet256Unconditional
        let unet = try UNetModel(config: config, weights: WeightStore(RandomWeightArchive(config.parameterShapes())))
        let dino = try DINOVisionTransformer(weights: WeightStore(RandomWeightArchive(DINOVisionTransformer.parameterShapes(width: 768, depth: 12, patch: 8, tokens: 785))))
        var p = DiffuseITParameters.named("paper", imageMode: true)!
        p.useRangeRestart = false  // random weights would restart at once
        return Setup(unet: unet, dino: DINOLosses(model: dino, globalPatchSize: 224), parameters: p)
    }

    struct Options {
        var width = 448, height = 448, steps = 1, overlap = TilingOptions().overlap(forTile: 256)
        init(_ args: ArraySlice<String>) {
            for a in args {
                let kv = a.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2 else { continue }
                switch kv[0] {
                case "size":
                    let wh = kv[1].split(separator: "x").compactMap { Int($0) }
                    if wh.count == 2 { width = wh[0]; height = wh[1] }
                case "steps": steps = Int(kv[1]) ?? steps
                case "overlap": overlap = Int(kv[1]) ?? overlap
                default: break
                }
            }
        }
    }

    /// A smooth synthetic photo-like image `[1, 3, h, w]` in [−1, 1].
    static func image(width w: Int, height h: Int, phase: Float) -> Tensor {
        var s = [Float](repeating: 0, count: 3 * w * h)
        for c in 0..<3 {
            for y in 0..<h {
                for x in 0..<w {
                    s[(c * h + y) * w + x] = 0.7 * sinf(Float(x) / 23 + phase * Float(c + 1)) * cosf(Float(y) / 17 - phase)
                }
            }
        }
        return Tensor(shape: [1, 3, h, w], scalars: s)
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// One whole-mode guided step at 256x256 (U-Net + one DINO pass with every image-mode term).
    static func wholeStepSeconds(_ s: Setup) throws -> Double {
        let diffusion = try s.parameters.diffusion()
        let source = image(width: 256, height: 256, phase: 0.3)
        let guidance = try DiffuseITGuidance(parameters: s.parameters, diffusion: diffusion, unet: s.unet, dino: s.dino, clip: nil,
            source: source, style: image(width: 256, height: 256, phase: 1.1))
        var rng = PhiloxGenerator(seed: 1)
        let k = guidance.startIndex
        let x = try diffusion.qSample(xStart: source, t: [k], noise: rng.normalTensor(source.shape))
        let t = try seconds { _ = try guidance.step(x, k: k, noise: rng.normalTensor(source.shape), views: nil) }
        Bench.log(String(format: "  whole step %.2f s", t))
        return t
    }

    /// A run of `steps` fused steps of a tiled sampler over a `width x height` 8-bit image read through
    /// libvips regions (as the stage reads it), output into a row-written libvips image; the mean
    /// seconds per step after the first (which also runs each tile's DINO reference pass), or the
    /// first when only one. The schedule is shortened to `steps` steps (the cost of a step does not
    /// depend on its timestep).
    static func fusedStepSeconds(_ s: Setup, _ o: Options, detail: Bool) throws -> (perStep: Double, first: Double, grid: TileGrid) {
        let steps = max(o.steps, 1)
        var tiling = TilingOptions()
        tiling.detailSteps = steps
        var parameters = s.parameters
        parameters.timestepRespacing = "\(steps)"
        let diffusion = detail ? try tiling.detailDiffusion() : try parameters.diffusion()
        let source = try VipsTileSource(photo(width: o.width, height: o.height))
        let sampler = try TiledSampler(parameters: s.parameters, diffusion: diffusion, unet: s.unet, dino: s.dino, clip: nil, source: source,
            style: image(width: 256, height: 256, phase: 1.1), overlap: o.overlap)
        let grid = sampler.grid
        Bench.log("  \(o.width)x\(o.height): \(grid.columns.count)x\(grid.rows.count) = \(grid.count) tiles (overlap \(o.overlap))")
        var rng = PhiloxGenerator(seed: 2)
        let writer = try VImageRowWriter(width: o.width, height: o.height, bands: 3, format: .uchar, interpretation: "srgb")
        var row = [UInt8](repeating: 0, count: 3 * o.width)
        var times: [Double] = []
        var mark = DispatchTime.now().uptimeNanoseconds
        try sampler.run(initial: source, startIndex: diffusion.stepCount - 1, resampleCount: 0, rng: &rng, output: { band, _ in
            let n = band.shape[2]
            for v in 0..<n {
                for c in 0..<3 { for x in 0..<o.width { row[3 * x + c] = UInt8(min(max((band.scalars[(c * n + v) * o.width + x] + 1) * 127.5, 0), 255)) } }
                try row.withUnsafeBufferPointer { try writer.append(row: $0) }
            }
        }, progress: { done in
            guard done % grid.count == 0 else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            let t = Double(now - mark) / 1e9
            mark = now
            times.append(t)
            Bench.log(String(format: "  fused step %d: %.2f s, %.2f s per tile; peak RSS %d MiB", times.count - 1, t, t / Double(grid.count), Bench.peakRSSMiB()))
        })
        _ = try writer.finish()
        let later = times.dropFirst()
        return (later.isEmpty ? times[0] : later.reduce(0, +) / Double(later.count), times[0], grid)
    }

    /// A smooth synthetic 8-bit photo as an in-memory libvips image (3 bytes per pixel, as a decoded
    /// JPEG).
    static func photo(width w: Int, height h: Int) throws -> VImage {
        var bytes = [UInt8](repeating: 0, count: 3 * w * h)
        for y in 0..<h {
            for x in 0..<w {
                for c in 0..<3 {
                    bytes[3 * (y * w + x) + c] = UInt8(127.5 + 110 * sinf(Float(x) / 23 + 0.3 * Float(c + 1)) * cosf(Float(y) / 17 - 0.3))
                }
            }
        }
        return try bytes.withUnsafeBufferPointer { try VImage.fromPixels($0, width: w, height: h, bands: 3, format: .uchar) }
    }

    static func megapixels(_ w: Int, _ h: Int) -> Double { Double(w * h) / 1e6 }

    static func whole(_ args: ArraySlice<String>) throws {
        let s = try setup()
        Bench.log("tiles-whole: image mode, random-weight ADM 256 uncond + DINO ViT-B/8, one guided step at 256x256 on \(EngineThreads.current) threads")
        let step = try wholeStepSeconds(s)
        Bench.report("tiles-whole", [
            "step_s": String(format: "%.2f", step),
            "est_paper_s_per_image": String(format: "%.0f", step * Double(paperSteps)),
            "est_fast_s_per_image": String(format: "%.0f", step * Double(fastSteps)),
            "est_paper_s_per_mp_12mp": String(format: "%.0f", step * Double(paperSteps) / 12),
            "sgemm_gflops": String(format: "%.1f", sgemmGFLOPS), "peak_rss_mb": "\(Bench.peakRSSMiB())",
        ])
    }

    static func tiled(_ args: ArraySlice<String>) throws {
        let o = Options(args), s = try setup()
        Bench.log("tiles-tiled: image mode, full architectures with random weights, \(o.steps) fused step(s) timed, EXTRAPOLATED to whole runs")
        let (perStep, first, grid) = try fusedStepSeconds(s, o, detail: false)
        let perTile = perStep / Double(grid.count)
        let big = try TileGrid(width: 4000, height: 3000, tileSize: 256, overlap: o.overlap)
        let mp = megapixels(o.width, o.height)
        Bench.report("tiles-tiled", [
            "size": "\(o.width)x\(o.height)", "tiles": "\(grid.count)", "first_step_s": String(format: "%.1f", first),
            "step_s": String(format: "%.1f", perStep), "tile_step_s": String(format: "%.2f", perTile),
            "est_paper_s_per_mp": String(format: "%.0f", perStep * Double(paperSteps) / mp),
            "est_fast_s_per_mp": String(format: "%.0f", perStep * Double(fastSteps) / mp),
            "est_paper_s_per_mp_12mp": String(format: "%.0f", perTile * Double(big.count * paperSteps) / 12),
            "sgemm_gflops": String(format: "%.1f", sgemmGFLOPS), "peak_rss_mb": "\(Bench.peakRSSMiB())",
        ])
    }

    static func detail(_ args: ArraySlice<String>) throws {
        let o = Options(args), s = try setup()
        let detailSteps = TilingOptions().detailSteps
        Bench.log("tiles-detail: image mode, full architectures with random weights: one whole step + \(o.steps) fused detail step(s) timed, EXTRAPOLATED")
        let step = try wholeStepSeconds(s)
        let (perStep, first, grid) = try fusedStepSeconds(s, o, detail: true)
        let perTile = perStep / Double(grid.count)
        let big = try TileGrid(width: 4000, height: 3000, tileSize: 256, overlap: o.overlap)
        let mp = megapixels(o.width, o.height)
        // The first fused step also runs every tile's reference pass: counted once per run.
        let refinement = first + perStep * Double(detailSteps - 1)
        let wholeRun = step * Double(paperSteps)
        let bigRefinement: Double = (first / perStep + Double(detailSteps - 1)) * perTile * Double(big.count)
        let perMP: Double = (wholeRun + refinement) / mp, refinementPerMP: Double = refinement / mp
        let bigPerMP: Double = (wholeRun + bigRefinement) / 12
        Bench.report("tiles-detail", [
            "size": "\(o.width)x\(o.height)", "tiles": "\(grid.count)", "whole_step_s": String(format: "%.2f", step),
            "step_s": String(format: "%.1f", perStep), "first_step_s": String(format: "%.1f", first),
            "est_paper_s_per_mp": String(format: "%.0f", perMP),
            "est_refinement_s_per_mp": String(format: "%.0f", refinementPerMP),
            "est_paper_s_per_mp_12mp": String(format: "%.0f", bigPerMP),
            "sgemm_gflops": String(format: "%.1f", sgemmGFLOPS), "peak_rss_mb": "\(Bench.peakRSSMiB())",
        ])
    }
}
