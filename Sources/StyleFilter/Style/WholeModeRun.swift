import Engine
import VipsBridge

/// Whole mode, upstream's way: the image resized to the model size (Lanczos, aspect not kept),
/// translated, and the result resized back to the image's size.
struct WholeModeRun: StyleModeRun {
    let run: StyleRun
    let sampler: DiffuseITSampler
    let width: Int, height: Int

    init(_ run: StyleRun, source colour: VImage) throws {
        let source = try StyleImages.tensor(StyleImages.resized(colour, width: run.size, height: run.size))
        let loss = try run.loss { source }
        sampler = DiffuseITSampler(guidance: try DiffuseITGuidance(loss: loss, diffusion: try run.parameters.diffusion(), unet: run.networks.unet, source: source))
        self.run = run
        width = colour.width
        height = colour.height
    }

    var stepsPerOutput: Int { sampler.stepsPerOutput }

    func output(offset: Int, progress: StyleProgress) throws -> VImage {
        let x0 = try sampler.run(rng: &run.rng, progress: { progress.report(offset + $0) }, estimates: run.estimates, warn: run.warn)
        let bytes = run.outputBytes(x0)
        return try StyleImages.resized(StyleImages.image(bytes: bytes, width: run.size, height: run.size), width: width, height: height)
    }
}
