@testable import Engine
import Testing
@testable import StyleFilter

/// A guided step (image mode, paper settings: every DINO term, the sampler's arithmetic) gives the same bits
/// on one thread and cut for 2, 3 and 16, so `-t` and the machine's core count never change a style run's
/// bytes (the engine's networks are checked the same way in `ThreadCountTests`), where OpenBLAS's kernels keep
/// a product's bits when it is cut (`GEMM.cutsKeepBits`).
@Suite(.enabled(if: GEMM.cutsKeepBits, "OpenBLAS's kernels here change a product's bits when it is cut")) struct ThreadCountStepTests {
    @Test func oneGuidedImageStep() throws {
        // Rows of 128 (shifted taps) down to 16 (attention); DINO ViT at 224 with few, narrow blocks.
        let config = UNetConfig(
            imageSize: 128, modelChannels: 32, outChannels: 6, numResBlocks: 1, attentionResolutions: [8],
            channelMult: [1, 2, 2, 4], numHeadChannels: 32, useScaleShiftNorm: true, resblockUpdown: true)
        let unet = try UNetModel(config: config, weights: WeightStore(RandomWeightArchive(config.parameterShapes())))
        let dino = try DINOVisionTransformer(
            weights: WeightStore(RandomWeightArchive(DINOVisionTransformer.parameterShapes(width: 192, depth: 2, patch: 8, tokens: 785))),
            config: DINOConfig(embedDim: 192, depth: 2, heads: 3, patchSize: 8, mlpHiddenDim: 768, trainedGridSize: 28))
        var rng = RandomWeightArchive.Generator(seed: 7)
        func image() -> Tensor { Tensor(shape: [1, 3, 128, 128], scalars: (0..<(3 * 128 * 128)).map { _ in rng.uniform(scale: 1) }) }
        let source = image(), style = image()
        let parameters = DiffuseITParameters.named("paper", imageMode: true)!
        let diffusion = try parameters.diffusion()
        var philox = PhiloxGenerator(seed: 1)
        let noise = philox.normalTensor(source.shape), start = philox.normalTensor(source.shape)

        // The references (source and style features) are computed on these threads too.
        func step(threads: Int) throws -> DiffuseITGuidance.Step {
            try EngineThreads.with(threads) {
                let guidance = try DiffuseITGuidance(
                    parameters: parameters, diffusion: diffusion, unet: unet, dino: DINOLosses(model: dino), clip: nil,
                    source: source, style: style, arcface: nil)
                let k = guidance.startIndex - 1  // below k0: the semantic divergence term is active too
                let x = try diffusion.qSample(xStart: source, t: [k], noise: start)
                return try guidance.step(x, k: k, noise: noise, views: nil)
            }
        }
        let serial = try step(threads: 1)
        for threads in [2, 3, 16] {
            let cut = try step(threads: threads)
            for (name, a, b) in [("gradient", serial.gradient, cut.gradient), ("mean", serial.conditionedMean, cut.conditionedMean),
                                 ("sample", serial.sample, cut.sample)] {
                let differing = zip(a.scalars, b.scalars).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name): \(differing) of \(a.count) floats differ on \(threads) threads")
            }
            #expect(cut.terms.mapValues(\.bitPattern) == serial.terms.mapValues(\.bitPattern), "loss terms on \(threads) threads")
        }
    }
}
