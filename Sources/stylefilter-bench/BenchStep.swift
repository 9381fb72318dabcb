@_spi(Benchmarks) import Engine
import Foundation
import StyleFilter

/// `step-image`, `step-text`, `step-faces`: one guided DiffuseIT step at 256x256 with the full official
/// architectures on random weights, paper settings, as `DiffuseITGuidance.step` runs it: one U-Net
/// forward + backward, one DINO ViT-B/8 forward + backward, and
/// - text: the CLIP ViT-B/32 views (`aug_num`, default 8) forward + backward;
/// - image: nothing more (ADM 256 uncond);
/// - faces: image mode on the FFHQ U-Net with the identity loss, one IR-SE-50 forward + backward.
/// Options: `runs=N` (median of N timed steps after one warm-up, default 3), `views=N`, `precision=bf16`
/// (each round also times the fp32 step: `fp32_seconds`, `speedup_vs_fp32`), `profile` (one profiled step
/// more: serial share, GEMM work over the wall against sgemm), `reference=NAME` (``Bench/reference(_:)``: first
/// the median of as many steps with the engine's earlier algorithm, e.g. `direct` for the U-Net's convolutions
/// without Winograd: `NAME_seconds`, `speedup_vs_NAME`).
enum BenchStep {
    enum Kind: String { case image, text, faces }

    static func run(_ kind: Kind, _ args: ArraySlice<String>) throws {
        let name = "step-\(kind.rawValue)", text = kind == .text
        let runs = args.compactMap { $0.hasPrefix("runs=") ? Int($0.dropFirst(5)) : nil }.last ?? 3
        let views = args.compactMap { $0.hasPrefix("views=") ? Int($0.dropFirst(6)) : nil }.last ?? 8
        let precision = try Bench.precision(args)
        let sgemm = BenchUNet.sgemmGFLOPS().gflops
        Bench.log("\(name): sgemm \(String(format: "%.1f", sgemm)) GFLOP/s on \(EngineThreads.current) threads; building random-weight networks")
        let config = kind == .faces ? UNetConfig.ffhq256 : UNetConfig.imageNet256Unconditional
        let unet = try UNetModel(config: config, weights: WeightStore(RandomWeightArchive(config.parameterShapes())))
        let dino = try DINOVisionTransformer(weights: WeightStore(RandomWeightArchive(DINOVisionTransformer.parameterShapes(width: 768, depth: 12, patch: 8, tokens: 785))))
        var rng = RandomWeightArchive.Generator(seed: 7)
        func image() -> Tensor { Tensor(shape: [1, 3, 256, 256], scalars: (0..<(3 * 65536)).map { _ in rng.uniform(scale: 1) }) }
        let source = image(), style = image()
        var clip: CLIPGuidance?
        if text {
            let model = try CLIPModel(weights: WeightStore(RandomWeightArchive(CLIPModel.imageTowerShapes(width: 768, layers: 12, patch: 32, resolution: 224, embed: 512))))
            var t = (0..<512).map { _ in rng.uniform(scale: 1) }
            let norm = t.map { $0 * $0 }.reduce(0, +).squareRoot()
            t = t.map { $0 / norm }
            clip = CLIPGuidance(members: [.init(model: NamedCLIPModel(name: "ViT-B/32", model: model), target: Tensor(shape: [512], scalars: t))])
        }
        var p = DiffuseITParameters.named("paper", imageMode: !text)!
        p.augNum = views
        p.useFFHQ = kind == .faces
        let arcface = kind == .faces ? try ArcFaceModel(weights: WeightStore(ArcFaceRandomWeights(config: .irSE50)), config: .irSE50) : nil
        let diffusion = try p.diffusion()
        let guidance = try DiffuseITGuidance(
            parameters: p, diffusion: diffusion, unet: unet, dino: DINOLosses(model: dino), clip: clip, source: source,
            style: text ? nil : style, arcface: arcface)
        var philox = PhiloxGenerator(seed: 1)
        let k = guidance.startIndex - 1  // a step below k0 with semantic divergence active
        let x = try diffusion.qSample(xStart: source, t: [k], noise: philox.normalTensor(source.shape))
        let noise = philox.normalTensor(source.shape)
        let augs: [[CLIPAugmentation]]? = text ? [(0..<views).map { _ in CLIPAugmentation.random(size: 256, using: &philox) }] : nil
        // FNV-1a over the bits of the sample (the guided mean plus noise) and the loss terms: equal only when every float is.
        var checksum: UInt64 = 0
        let reference: (name: String, seconds: Double)? = try Bench.reference(args).map { reference in
            var seconds = 0.0
            try reference.run {
                seconds = try Bench.medianSeconds(runs: runs, warmup: 1) { _ = try guidance.step(x, k: k, noise: noise, views: augs) }
            }
            Bench.log(String(format: "  reference %@: %.2f s per step", reference.name, seconds))
            return (reference.name, seconds)
        }
        let (seconds, fp32) = try Bench.medianSeconds(precision, runs: runs, warmup: 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            let step = try guidance.step(x, k: k, noise: noise, views: augs)
            let floats = step.sample.scalars + step.terms.sorted { $0.key.rawValue < $1.key.rawValue }.map(\.value)
            checksum = floats.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1.bitPattern)) &* 0x100_0000_01b3 }
            Bench.log(String(format: "  step %.2f s (terms: %@)", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9,
                step.terms.keys.map(\.rawValue).sorted().joined(separator: ",")))
        }
        Bench.log("checksum " + String(checksum, radix: 16))
        let profile = try Bench.profile(args, precision, sgemm: sgemm) { _ = try guidance.step(x, k: k, noise: noise, views: augs) }
        Bench.report(name, [
            "seconds": String(format: "%.2f", seconds), "sgemm_gflops": String(format: "%.1f", sgemm),
            "sgemm_gflop_equivalent": String(format: "%.0f", seconds * sgemm), "peak_rss_mb": "\(Bench.peakRSSMiB())",
        ], Bench.precisionFields(precision, seconds: seconds, fp32: fp32) + (reference.map { [
            ("\($0.name)_seconds", String(format: "%.2f", $0.seconds)), ("speedup_vs_\($0.name)", String(format: "%.3f", $0.seconds / seconds)),
        ] } ?? []) + profile)
    }
}
