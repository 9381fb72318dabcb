import Foundation
import Testing
@testable import Engine

/// bf16 against the float32 engine on the FULL official architectures with random weights
/// (`RandomWeightArchive`, trained-network scales): how far the reduced precision moves what the style
/// run reads. The bounds are the errors measured on an AMD EPYC (Zen 4, AVX512-BF16) with headroom;
/// each test's comment gives the measurement. Skipped on CPUs without AVX512-BF16, where
/// `BFloat16GEMMTests` checks that bf16 is refused instead.
@Suite(.serialized, .enabled(if: MatmulPrecision.bf16.isSupported)) struct BFloat16ToleranceTests {
    static func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = RandomWeightArchive.Generator(seed: seed)
        return Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in rng.uniform(scale: scale) })
    }

    /// Runs `body` in fp32 and in bf16.
    static func both<R>(_ body: () throws -> R) throws -> (fp32: R, bf16: R) {
        (try body(), try MatmulPrecision.bf16.withEngine(body))
    }

    static func report(_ what: String, _ error: Double) {
        print("bf16 tolerance: \(what) relative L2 \(String(format: "%.3e", error))")
    }

    @Test func unet256OutputAndInputGradient() throws {
        // ADM 256x256 unconditional (552 M parameters), the prior of image and text modes, at t = 500.
        let config = UNetConfig.imageNet256Unconditional
        let model = try UNetModel(config: config, weights: WeightStore(RandomWeightArchive(config.parameterShapes())))
        let x = Self.random([1, 3, 256, 256], seed: 42, scale: 1.7)
        let cotangent = Self.random([1, config.outChannels, 256, 256], seed: 43)
        let t = Tensor(shape: [1], scalars: [500])
        let (fp32, bf16) = try Self.both { model.inputGradient(x, timesteps: t, cotangent: cotangent) }
        let output = relativeL2(bf16.output.scalars, fp32.output.scalars)
        let gradient = relativeL2(bf16.gradient.scalars, fp32.gradient.scalars)
        Self.report("U-Net 256 output", output)
        Self.report("U-Net 256 input gradient", gradient)
        #expect(output < 1.5e-2)  // measured 6.2e-3
        #expect(gradient < 2e-2)  // measured 8.8e-3
    }

    @Test func dinoViTB8KeysCLSAndInputGradient() throws {
        // DiffuseIT's structure network at 224x224: last block's keys and CLS, and the gradient of their sum.
        let model = try DINOVisionTransformer(weights: WeightStore(RandomWeightArchive(
            DINOVisionTransformer.parameterShapes(width: 768, depth: 12, patch: 8, tokens: 785))))
        let image = Self.random([1, 3, 224, 224], seed: 7, scale: 2)
        let (fp32, bf16) = try Self.both { () throws -> (keys: [Float], cls: [Float], gradient: [Float]) in
            let tape = Tape()
            let x = tape.watch(image)
            let f = try model.features(x)
            let loss = Ops.sum(f.keys) + Ops.sum(f.lastBlockCLS)
            let gradient = tape.gradients(of: loss, cotangent: Tensor(shape: [], scalars: [1]), wrt: [x])[0]
            return (f.keys.value.scalars, f.lastBlockCLS.value.scalars, gradient.scalars)
        }
        let keys = relativeL2(bf16.keys, fp32.keys), cls = relativeL2(bf16.cls, fp32.cls)
        let gradient = relativeL2(bf16.gradient, fp32.gradient)
        Self.report("DINO ViT-B/8 keys", keys)
        Self.report("DINO ViT-B/8 CLS", cls)
        Self.report("DINO ViT-B/8 input gradient", gradient)
        #expect(keys < 1e-2)  // measured 4.8e-3
        #expect(cls < 1e-2)  // measured 5.1e-3
        #expect(gradient < 1.5e-2)  // measured 6.1e-3
    }

    @Test(arguments: [32, 16]) func clipViTImageEmbedding(patch: Int) throws {
        // The text mode's CLIP ensemble members ViT-B/32 and ViT-B/16: image embeddings and their gradient.
        let model = try CLIPModel(weights: WeightStore(RandomWeightArchive(
            CLIPModel.imageTowerShapes(width: 768, layers: 12, patch: patch, resolution: 224, embed: 512))))
        let image = Self.random([2, 3, 224, 224], seed: 9, scale: 2)
        let (fp32, bf16) = try Self.both { () throws -> (embedding: [Float], gradient: [Float]) in
            let tape = Tape()
            let x = tape.watch(image)
            let e = try model.encodeImage(x)
            let gradient = tape.gradients(of: Ops.sum(e), cotangent: Tensor(shape: [], scalars: [1]), wrt: [x])[0]
            return (e.value.scalars, gradient.scalars)
        }
        let embedding = relativeL2(bf16.embedding, fp32.embedding), gradient = relativeL2(bf16.gradient, fp32.gradient)
        Self.report("CLIP ViT-B/\(patch) image embedding", embedding)
        Self.report("CLIP ViT-B/\(patch) input gradient", gradient)
        #expect(embedding < 6e-3)  // measured 2.8e-3 (B/32 and B/16)
        #expect(gradient < 1.2e-2)  // measured 5.1e-3 (B/32), 5.4e-3 (B/16)
    }
}
