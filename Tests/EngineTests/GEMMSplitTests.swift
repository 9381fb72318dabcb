import Testing
@testable import Engine

/// How big products are cut over the engine's threads (BENCHMARKS.md, "Page faults" section's follow-up:
/// parts that divide evenly, so no thread waits on another's extra blocks on many cores).
struct GEMMSplitTests {
    static func check(_ m: Int, _ n: Int, _ threads: Int) -> (alongN: Bool, sizes: [Int]) {
        let (alongN, parts) = GEMM.split(m: m, n: n, threads: threads)
        let total = alongN ? n : m
        // Contiguous, disjoint, covering the side, on multiples of 16 but the last.
        #expect(parts.first?.lowerBound == 0 && parts.last?.upperBound == total)
        for (a, b) in zip(parts, parts.dropFirst()) { #expect(a.upperBound == b.lowerBound && a.upperBound % 16 == 0) }
        #expect(parts.count <= threads)
        return (alongN, parts.map(\.count))
    }

    @Test func aViTsTokenRowsAreNotCutWhenTheColumnsDivideEvenly() {
        // DINO ViT-B/8 at 224: 785 tokens. Attention projection and fc2: C is 785 x 768.
        let proj = Self.check(785, 768, 16)
        #expect(proj.alongN && proj.sizes == Array(repeating: 48, count: 16))
        // 785 rows on 16 threads would leave the slowest part at 64 rows against a mean of 49.
        let rows = GEMM.split(m: 785, n: 700, threads: 16)
        #expect(rows.alongN, "700 columns (44 blocks, at most 48 per thread) beat 785 rows (at most 64)")
        // Two threads: both sides divide about evenly (400 + 385 rows, 384 + 384 columns); the longer side
        // is cut, as before.
        let two = Self.check(785, 768, 2)
        #expect(!two.alongN && two.sizes == [400, 385])
    }

    @Test func tallProductsAreCutAlongTheRows() {
        let tall = Self.check(4096, 64, 8)
        #expect(!tall.alongN && tall.sizes == Array(repeating: 512, count: 8))
        let ragged = Self.check(1000, 40, 3)  // 63 blocks: 21 each
        #expect(!ragged.alongN && ragged.sizes == [336, 336, 328])
    }

    /// A split product has the same bits as the whole where the kernels allow it (`GEMM.cutsKeepBits`;
    /// `ThreadCountTests` rely on it), else the same values to float rounding. Includes products whose parts
    /// would be small enough for OpenBLAS's small-matrix or direct kernels, with k beyond one depth block.
    @Test(arguments: [(785, 768, 64), (1024, 8, 1024), (8, 1024, 1500), (600, 40, 700)], [false, true])
    func splitProductsMatchTheUnsplitOne(size: (Int, Int, Int), transposeB: Bool) {
        var rng = RandomWeightArchive.Generator(seed: 11)
        let (m, n, k) = size
        let a = (0..<(m * k)).map { _ in rng.uniform(scale: 1) }, b = (0..<(n * k)).map { _ in rng.uniform(scale: 1) }
        func product(threads: Int) -> [Float] {
            var c = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        GEMM.multiply(transposeB: transposeB, m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!,
                            ldb: transposeB ? k : n, c: pc.baseAddress!, ldc: n, threads: threads)
                    }
                }
            }
            return c
        }
        let whole = product(threads: 1)
        for threads in [2, 5, 16] {
            let split = product(threads: threads)
            if GEMM.cutsKeepBits {
                #expect(zip(whole, split).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(threads) threads")
            } else {
                #expect(relativeL2(split, whole) < 1e-6, "\(threads) threads")
            }
        }
    }
}
