import COpenBLAS
import Synchronization
import Testing
@testable import Engine

/// The thread count decides how fast, never what: a style run's bytes are the same with `-t 1`, on 2 cores
/// and on 16. Each case runs on one thread and again cut for 2, 3 and 16 threads (more parts than this
/// machine's cores is fine: the cut, not the cores, decides the arithmetic), and must give the same bits.
/// Only where OpenBLAS's kernels keep a product's bits when it is cut (`GEMM.cutsKeepBits`: its AVX-512
/// kernels do, its AVX2 ones do not; where they do not, `ThreadCountWithBitKeepingKernelsTests` runs this
/// suite again with kernels that do).
@Suite(.enabled(if: GEMM.cutsKeepBits, "OpenBLAS's kernels here change a product's bits when it is cut")) struct ThreadCountTests {
    static let threadCounts = [1, 2, 3, 16]

    static func expectSameBits(_ a: [Float], _ b: [Float], _ what: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) {
        let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(a.count == b.count && differing == 0, "\(what()): \(differing) of \(a.count) floats differ", sourceLocation: sourceLocation)
    }

    /// Runs `body` on one thread, then on each thread count, and expects the same floats every time.
    static func expectSameBitsOnAnyThreadCount(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> [[Float]]) rethrows {
        let serial = try EngineThreads.with(1, body)
        for threads in threadCounts.dropFirst() {
            let cut = try EngineThreads.with(threads, body)
            for (i, (a, b)) in zip(serial, cut).enumerated() {
                expectSameBits(a, b, "\(what) [\(i)] on \(threads) threads", sourceLocation: sourceLocation)
            }
        }
    }

    @Test func unetOutputAndInputGradient() throws {
        // Rows of 128 (shifted taps), 64 and 32 (unfolded, in bands or one shared tile), 16 (attention).
        let config = UNetConfig(
            imageSize: 128, modelChannels: 32, outChannels: 6, numResBlocks: 1, attentionResolutions: [8],
            channelMult: [1, 2, 2, 4], numHeadChannels: 32, useScaleShiftNorm: true, resblockUpdown: true)
        let model = try UNetModel(config: config, weights: WeightStore(RandomWeightArchive(config.parameterShapes())))
        var rng = TestRandom(seed: 5)
        let x = rng.tensor([1, 3, 128, 128]), cotangent = rng.tensor([1, 6, 128, 128])
        let t = Tensor(shape: [1], scalars: [300])
        Self.expectSameBitsOnAnyThreadCount("U-Net output, input gradient") {
            let r = model.inputGradient(x, timesteps: t, cotangent: cotangent)
            return [r.output.scalars, r.gradient.scalars]
        }
    }

    @Test func dinoFeaturesAndInputGradient() throws {
        let model = try DINOVisionTransformer(
            weights: WeightStore(RandomWeightArchive(DINOVisionTransformer.parameterShapes(width: 192, depth: 2, patch: 8, tokens: 785))),
            config: DINOConfig(embedDim: 192, depth: 2, heads: 3, patchSize: 8, mlpHiddenDim: 768, trainedGridSize: 28))
        var rng = TestRandom(seed: 6)
        let image = rng.tensor([1, 3, 224, 224])
        try Self.expectSameBitsOnAnyThreadCount("DINO keys, CLS, input gradient") {
            let tape = Tape()
            let x = tape.watch(image)
            let f = try model.features(x)
            let loss = Ops.sum(f.keys) + Ops.sum(f.lastBlockCLS)
            return [f.keys.value.scalars, f.lastBlockCLS.value.scalars,
                    tape.gradients(of: loss, cotangent: Tensor(shape: [], scalars: [1]), wrt: [x])[0].scalars]
        }
    }

    /// A convolution's input gradient in bands of rows per thread (the tall image), as one band with its
    /// products split (the short one), in tiles of any size, equals one tile over the whole image on one thread.
    @Test(arguments: [(3, 1, 1), (3, 2, 1), (5, 1, 2), (4, 2, 1), (8, 8, 0)])
    func convolutionInputGradientWhateverTheTiles(kernel: (size: Int, stride: Int, padding: Int)) {
        var rng = TestRandom(seed: 9)
        for (h, w) in [(200, 100), (40, 30)] {
            let g = ConvGeometry(
                batch: 1, inChannels: 3, height: h, width: w, outChannels: 4, kernelH: kernel.size, kernelW: kernel.size,
                stride: kernel.stride, padding: kernel.padding)
            let dy = rng.tensor([1, 4, g.outHeight, g.outWidth]), weight = rng.tensor([4, 3, kernel.size, kernel.size])
            func gradient(tileFloats: Int) -> [Float] {
                let dx = Tensor(uninitializedShape: [1, 3, h, w])
                ConvolutionKernel.backwardInput(g, gradOutput: dy.readPointer, weight: weight.readPointer, gradInput: dx.mutablePointer, tileFloats: tileFloats)
                return dx.scalars
            }
            let whole = EngineThreads.with(1) { gradient(tileFloats: Int.max / 64) }
            for threads in Self.threadCounts {
                for tileFloats in [1 << 12, 100] {
                    let cut = EngineThreads.with(threads) { gradient(tileFloats: tileFloats) }
                    Self.expectSameBits(whole, cut, "\(kernel) at \(h)x\(w), \(threads) threads, tiles of \(tileFloats) floats")
                }
            }
        }
    }
}

extension ThreadCountTests {
    /// bf16 products (their own AVX-512 kernel, split like the fp32 ones) are cut without changing a bit too.
    @Test(.enabled(if: MatmulPrecision.bf16.isSupported)) func unetInBFloat16() throws {
        let config = UNetConfig(
            imageSize: 64, modelChannels: 32, outChannels: 6, numResBlocks: 1, attentionResolutions: [4],
            channelMult: [1, 2, 2], numHeadChannels: 32, useScaleShiftNorm: true, resblockUpdown: true)
        let model = try UNetModel(config: config, weights: WeightStore(RandomWeightArchive(config.parameterShapes())))
        var rng = TestRandom(seed: 8)
        let x = rng.tensor([1, 3, 64, 64]), cotangent = rng.tensor([1, 6, 64, 64])
        try Self.expectSameBitsOnAnyThreadCount("bf16 U-Net output, input gradient") {
            let r = try MatmulPrecision.bf16.withEngine { model.inputGradient(x, timesteps: Tensor(shape: [1], scalars: [300]), cotangent: cotangent) }
            return [r.output.scalars, r.gradient.scalars]
        }
    }
}

extension ThreadCountTests {
    /// Faces mode's identity network: stride-2 convolutions, BatchNorm, PReLU, squeeze-excitation.
    @Test func arcFaceEmbeddingAndInputGradient() throws {
        let config = ArcFaceConfig(
            stemChannels: 16, stages: [.init(width: 16, units: 1, squeezeChannels: 2), .init(width: 32, units: 2, squeezeChannels: 4)],
            embeddingDim: 32, inputSize: 112)
        let model = try ArcFaceModel(weights: WeightStore(ArcFaceRandomWeights(config: config)))
        var rng = TestRandom(seed: 10)
        let x = rng.tensor([1, 3, 112, 112]), g = rng.tensor([1, 32])
        try Self.expectSameBitsOnAnyThreadCount("ArcFace embedding, input gradient") {
            let (embedding, gradient) = try model.inputGradient(x, cotangent: g)
            return [embedding.scalars, gradient.scalars]
        }
    }
}

/// `EngineThreads.with`, which the thread-count tests use to run side by side.
struct EngineThreadsScopeTests {
    /// The count these tests set holds for their own work only, workers included.
    @Test func scopedCountReachesTheWorkers() {
        let seen = Mutex<[Int]>([])
        let outside = EngineThreads.current
        EngineThreads.with(outside + 4) {
            Parallel.forEach(outside + 4) { _ in
                let count = EngineThreads.current
                seen.withLock { $0.append(count) }
            }
        }
        #expect(seen.withLock { $0 } == Array(repeating: outside + 4, count: outside + 4))
        #expect(EngineThreads.current == outside)
    }

    /// OpenBLAS is single-threaded before the first GEMM even when the process-wide count was never read, as
    /// in a process whose engine work all runs under scoped counts (this suite's). In a fresh process, where
    /// OpenBLAS starts with threads of its own (4 here, as on a 4-core machine).
    @Test func openBLASIsSingleThreadedUnderAScopedCount() async {
        await #expect(processExitsWith: .success) {
            openblas_set_num_threads(4)
            let a = [Float](repeating: 1, count: 256 * 256), b = a
            var c = a
            EngineThreads.with(1) {
                c.withUnsafeMutableBufferPointer { pc in
                    GEMM.multiply(m: 256, n: 256, k: 256, a: a, lda: 256, b: b, ldb: 256, c: pc.baseAddress!, ldc: 256)
                }
            }
            precondition(openblas_get_num_threads() == 1, "OpenBLAS ran the GEMM with \(openblas_get_num_threads()) threads")
        }
    }
}
