import Engine
import VipsBridge

/// Tiled mode: the image at full resolution as overlapping model-size tiles fused at every step
/// (``TiledSampler``), read from libvips by region and written row by row.
struct TiledModeRun: StyleModeRun {
    let run: StyleRun
    let sampler: TiledSampler
    let source: VipsTileSource
    let startIndex: Int
    let stepsPerOutput: Int

    init(_ run: StyleRun, source colour: VImage) throws {
        let source = VipsTileSource(colour)
        let tiling = run.settings.tiling
        let grid = try TileGrid(width: colour.width, height: colour.height, tileSize: run.size, overlap: tiling.overlap(forTile: run.size))
        let loss = try run.loss { try TiledSampler.sourceView(source, grid: grid) }
        let diffusion = try run.parameters.diffusion()
        sampler = try TiledSampler(loss: loss, diffusion: diffusion, unet: run.networks.unet, source: source, overlap: grid.overlap,
            referenceCacheBytes: tiling.referenceCacheBytes, canvasMemoryLimit: tiling.canvasMemoryLimit)
        guard let k0 = run.parameters.startIndex(stepCount: diffusion.stepCount) else {
            throw StyleFilterError(.usage, "style: skip_timesteps \(run.parameters.skipTimesteps) leaves no step of \(diffusion.stepCount)")
        }
        startIndex = k0
        stepsPerOutput = sampler.steps(startIndex: k0, resampleCount: run.parameters.resampleCount) * grid.count
        self.run = run
        self.source = source
        run.describe(sampler, stepsPerOutput: stepsPerOutput)
    }

    func output(offset: Int, progress: StyleProgress) throws -> VImage {
        try run.tiledOutput(sampler, initial: source, startIndex: startIndex, resampleCount: run.parameters.resampleCount, offset: offset,
            progress: progress)
    }
}
