import COpenBLAS
import Testing
@testable import Engine

/// Products with beta 0 clear C themselves and ask OpenBLAS for beta 1 where its blocked kernels run either
/// way (`GEMM.clearsC`): the result must have OpenBLAS's own beta-0 bits, whatever C held before, and leave
/// the floats between C's rows alone.
struct GEMMBetaZeroTests {
    /// Below and above `GEMM.minimumPartProduct`, k within and beyond one depth block, C rows padded.
    @Test(arguments: [(64, 48, 32), (128, 256, 128), (256, 256, 256), (300, 200, 700)])
    func betaZeroGivesOpenBLASsBits(size: (Int, Int, Int)) {
        var rng = RandomWeightArchive.Generator(seed: 5)
        let (m, n, k) = size
        let ldc = n + 5
        let a = (0..<(m * k)).map { _ in rng.uniform(scale: 1) }, b = (0..<(k * n)).map { _ in rng.uniform(scale: 1) }
        // C starts as NaN (beta 0 must ignore it), its padding as a sentinel that must survive.
        func start() -> [Float] { (0..<(m * ldc)).map { $0 % ldc < n ? .nan : -7 } }
        var mine = start(), openBLAS = start()
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                mine.withUnsafeMutableBufferPointer {
                    GEMM.multiply(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, c: $0.baseAddress!, ldc: ldc, threads: 1)
                }
                openBLAS.withUnsafeMutableBufferPointer {
                    _ = EngineThreads.current  // OpenBLAS single-threaded, as under GEMM.multiply
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                        pa.baseAddress!, Int32(k), pb.baseAddress!, Int32(n), 0, $0.baseAddress!, Int32(ldc))
                }
            }
        }
        #expect(zip(mine, openBLAS).allSatisfy { $0.bitPattern == $1.bitPattern })
        #expect(mine.enumerated().allSatisfy { $0.offset % ldc < n ? $0.element.isFinite : $0.element == -7 })
    }

    @Test func clearsCWhereTheBlockedKernelsRunEitherWay() {
        #expect(GEMM.clearsC(m: 256, n: 256, k: 128))  // 2^23 multiply-adds: blocked on every core
        #expect(GEMM.clearsC(m: 128, n: 256, k: 128) == !GEMM.coreHasSmallProductKernels)
        #expect(GEMM.coreHasSmallProductKernels == BLASCore.hasSmallProductKernels(BLASCore.current))
    }

    /// OpenBLAS 0.3.21 has small-product and direct sgemm kernels for its AVX-512 cores only; a core it may
    /// have added since is assumed to have them too (its own beta-0 path is kept).
    @Test func smallProductKernelsBelongToTheAVX512Cores() {
        for core in ["SkylakeX", "Cooperlake", "SapphireRapids", "FutureLake"] { #expect(BLASCore.hasSmallProductKernels(core), "\(core)") }
        for core in ["Zen", "Haswell", "Sandybridge", "Prescott", "Core2"] { #expect(!BLASCore.hasSmallProductKernels(core), "\(core)") }
    }
}
