import Engine
import Foundation

/// `dino-b8-grad` and `clip-b32-grad`: DiffuseIT's feature networks at 224x224 with random weights, batch 1
/// (`batch=N` to change), forward plus the gradient w.r.t. the image, against sgemm in the same run.
///
/// Effective FLOPs count the forward and the input-gradient backward: every linear/convolution costs its
/// forward MACs again backward (dX only, no weight gradients), and attention's two N x N products
/// become four, so `MACs = 2·forward + layers·2·N²·D`; FLOPs = 2·MACs.
enum BenchFeatureNetworks {
    /// `dino-b8-grad`: DINO ViT-B/8, loss = Σ keys of the last block + Σ last-block CLS (DiffuseIT's taps).
    static func dino(_ args: ArraySlice<String>) throws {
        let (runs, batch) = options(args)
        let precision = try Bench.precision(args)
        let sgemm = BenchUNet.sgemmGFLOPS().gflops
        Bench.log("dino-b8-grad: sgemm \(String(format: "%.1f", sgemm)) GFLOP/s on \(EngineThreads.current) threads; building random-weight ViT-B/8")
        let d = 768, depth = 12, patch = 8, side = 224
        let shapes = DINOVisionTransformer.parameterShapes(width: d, depth: depth, patch: patch, tokens: 1 + (side / patch) * (side / patch))
        let model = try DINOVisionTransformer(weights: WeightStore(RandomWeightArchive(shapes)))
        Bench.log("  \(model.config.name)")
        let image = randomImage(batch: batch, side: side)
        let n = (side / patch) * (side / patch) + 1
        let macs = 2 * Double(model.forwardMACs(height: side, width: side)) + Double(depth * 2 * n * n * d)
        var checksum: Float = 0
        func pass() throws {
            let tape = Tape()
            let x = tape.watch(image)
            let f = try model.features(x)
            let loss = Ops.sum(f.keys) + Ops.sum(f.lastBlockCLS)
            checksum = tape.gradients(of: loss, cotangent: Tensor(shape: [], scalars: [1]), wrt: [x])[0].scalars[0]
        }
        let (seconds, fp32) = try Bench.medianSeconds(precision, runs: runs, warmup: 1) { try timed(pass) }
        let profile = try Bench.profile(args, precision, sgemm: sgemm, pass)
        report("dino-b8-grad", seconds: seconds, flop: 2 * macs * Double(batch), sgemm: sgemm, checksum: checksum,
            Bench.precisionFields(precision, seconds: seconds, fp32: fp32) + profile)
    }

    /// `clip-b32-grad`: CLIP ViT-B/32 image tower, loss = Σ encode_image.
    static func clip(_ args: ArraySlice<String>) throws {
        let (runs, batch) = options(args)
        let precision = try Bench.precision(args)
        let sgemm = BenchUNet.sgemmGFLOPS().gflops
        Bench.log("clip-b32-grad: sgemm \(String(format: "%.1f", sgemm)) GFLOP/s on \(EngineThreads.current) threads; building random-weight ViT-B/32 image tower")
        let w = 768, layers = 12, patch = 32, side = 224, embed = 512
        let shapes = CLIPModel.imageTowerShapes(width: w, layers: layers, patch: patch, resolution: side, embed: embed)
        let model = try CLIPModel(weights: WeightStore(RandomWeightArchive(shapes)))
        Bench.log("  \(model.config.name), text tower: \(model.config.text == nil ? "none" : "yes")")
        let image = randomImage(batch: batch, side: side)
        let n = (side / patch) * (side / patch) + 1
        let macs = 2 * Double(model.imageForwardMACs) + Double(layers * 2 * n * n * w)
        var checksum: Float = 0
        let (seconds, fp32) = try Bench.medianSeconds(precision, runs: runs, warmup: 1) {
            try timed {
                let tape = Tape()
                let x = tape.watch(image)
                let loss = Ops.sum(try model.encodeImage(x))
                checksum = tape.gradients(of: loss, cotangent: Tensor(shape: [], scalars: [1]), wrt: [x])[0].scalars[0]
            }
        }
        report("clip-b32-grad", seconds: seconds, flop: 2 * macs * Double(batch), sgemm: sgemm, checksum: checksum,
            Bench.precisionFields(precision, seconds: seconds, fp32: fp32))
    }

    /// `runs=N` (default 3 timed runs after one warm-up), `batch=N` (default 1), `precision=bf16` (also timed
    /// in fp32 in the same run: `fp32_seconds`, `speedup_vs_fp32`), `profile` (DINO: one profiled pass more).
    static func options(_ args: ArraySlice<String>) -> (runs: Int, batch: Int) {
        func arg(_ key: String, _ fallback: Int) -> Int {
            args.compactMap { $0.hasPrefix(key + "=") ? Int($0.dropFirst(key.count + 1)) : nil }.last ?? fallback
        }
        return (arg("runs", 3), arg("batch", 1))
    }

    static func randomImage(batch: Int, side: Int) -> Tensor {
        var rng = RandomWeightArchive.Generator(seed: 42)
        return Tensor(shape: [batch, 3, side, side], scalars: (0..<(batch * 3 * side * side)).map { _ in rng.uniform(scale: 1.7) })
    }

    static func timed(_ body: () throws -> Void) rethrows {
        Bench.log(String(format: "  run %.3f s", try Bench.seconds(of: body)))
    }

    static func report(_ name: String, seconds: Double, flop: Double, sgemm: Double, checksum: Float, _ more: [(String, String)]) {
        let gflops = flop / seconds / 1e9
        Bench.log("checksum \(checksum)")
        Bench.report(name, [
            "seconds": String(format: "%.3f", seconds), "gflops": String(format: "%.1f", gflops),
            "peak_rss_mb": "\(Bench.peakRSSMiB())", "ratio_to_sgemm": String(format: "%.3f", gflops / sgemm),
        ], more)
    }
}
