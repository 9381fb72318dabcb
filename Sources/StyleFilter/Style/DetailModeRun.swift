import Engine
import VipsBridge

/// Detail mode: a whole-mode translation, upscaled, with the source's fine detail added back
/// (``DetailTileSource``), then a short tiled refinement from a low noise level
/// (``TilingOptions/detailSteps`` steps from ``TilingOptions/detailLevel``).
struct DetailModeRun: StyleModeRun {
    let run: StyleRun
    let whole: DiffuseITSampler
    let refinement: TiledSampler
    let source: VipsTileSource
    /// The source at the model size and back: the detail a model-size pass cannot carry is
    /// source − low.
    let low: VipsTileSource
    let width: Int, height: Int

    init(_ run: StyleRun, source colour: VImage) throws {
        width = colour.width
        height = colour.height
        // The model-size source is read twice (the whole pass and, upscaled, every region of `low`): keep it.
        let resized = try StyleImages.resized(colour, width: run.size, height: run.size)
        let small = try wrap(.failure, "style: resize") { () throws(VipsError) in try resized.copyMemory() }
        let wholeSource = try StyleImages.tensor(small)
        // The whole pass sees the resized source; its CLIP targets serve the refinement too.
        let loss = try run.loss { wholeSource }
        source = VipsTileSource(colour)
        let tiling = run.settings.tiling
        refinement = try TiledSampler(loss: loss, diffusion: try tiling.detailDiffusion(), unet: run.networks.unet, source: source,
            overlap: tiling.overlap(forTile: run.size), referenceCacheBytes: tiling.referenceCacheBytes, canvasMemoryLimit: tiling.canvasMemoryLimit)
        whole = DiffuseITSampler(guidance: try DiffuseITGuidance(loss: loss, diffusion: try run.parameters.diffusion(), unet: run.networks.unet, source: wholeSource))
        low = try StyleImages.upscaled(small, width: width, height: height)
        self.run = run
        run.describe(refinement, stepsPerOutput: refinementSteps)
    }

    /// The refinement starts at its schedule's last (noisiest) kept timestep, without resampling.
    var refinementStart: Int { refinement.diffusion.stepCount - 1 }
    var refinementSteps: Int { refinement.steps(startIndex: refinementStart, resampleCount: 0) * refinement.grid.count }
    var stepsPerOutput: Int { whole.stepsPerOutput + refinementSteps }

    func output(offset: Int, progress: StyleProgress) throws -> VImage {
        let x0 = try whole.run(rng: &run.rng, progress: { progress.report(offset + $0) }, estimates: run.estimates, warn: run.warn)
        let bytes = run.outputBytes(x0)
        let upscaled = try StyleImages.upscaled(StyleImages.image(bytes: bytes, width: run.size, height: run.size), width: width, height: height)
        return try run.tiledOutput(refinement, initial: DetailTileSource(upscaled: upscaled, source: source, low: low), startIndex: refinementStart,
            resampleCount: 0, offset: offset + whole.stepsPerOutput, progress: progress)
    }
}
