#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBFloat16
import COpenBLAS
import Synchronization

/// Matrix multiply `C = alpha * op(A) * op(B) + beta * C`, all matrices row-major, in the engine's
/// ``MatmulPrecision``: OpenBLAS sgemm for fp32, the AVX512-BF16 kernel (CBFloat16) for bf16.
enum GEMM {
    /// `op(A)` is `m x k`, `op(B)` is `k x n`, `C` is `m x n`; `lda`/`ldb`/`ldc` are row strides of
    /// the matrices as stored (before transposition). `threads` defaults to the engine's budget;
    /// pass 1 from inside a parallel loop.
    static func multiply(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        threads: Int = EngineThreads.current
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched for k == 0 only when beta == 1; make the result explicit.
            for i in 0..<m {
                let row = c + i * ldc
                if beta == 0 { row.update(repeating: 0, count: n) } else { for j in 0..<n { row[j] *= beta } }
            }
            return
        }
        let precision = MatmulPrecision.current
        // Big products are split across the engine's threads (OpenBLAS itself is single-threaded,
        // see EngineThreads), along the side of C that divides more evenly (see `split`).
        // Fewer parts when the smallest would be under `minimumPartProduct`.
        var cut = min(threads, m * n * k / minimumPartProduct, max(m, n) / 32)
        while cut > 1 {
            let (alongN, parts) = split(m: m, n: n, threads: cut)
            guard (parts.map(\.count).min() ?? 0) * (alongN ? m : n) * k >= minimumPartProduct else {
                cut -= 1
                continue
            }
            let pa = UncheckedSendable(a), pb = UncheckedSendable(b), pc = UncheckedSendable(c)
            Parallel.forRanges(parts.count) { indices in
                for part in indices {
                    let (lo, hi) = (parts[part].lowerBound, parts[part].upperBound)
                    if alongN {
                        single(precision, transposeA, transposeB, m, hi - lo, k, alpha, pa.value, lda,
                            transposeB ? pb.value + lo * ldb : pb.value + lo, ldb, beta, pc.value + lo, ldc)
                    } else {
                        single(precision, transposeA, transposeB, hi - lo, n, k, alpha,
                            transposeA ? pa.value + lo : pa.value + lo * lda, lda, pb.value, ldb, beta, pc.value + lo * ldc, ldc)
                    }
                }
            }
            return
        }
        single(precision, transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }

    /// Fewest multiply-adds in one part of a split product. OpenBLAS
    /// 0.3.21 computes products under 1e6 multiply-adds with its small-matrix kernels and untransposed ones
    /// under 7.3e6 with its "direct" kernel, which sum a long k in another order than its blocked kernels: a
    /// part there would change the product's bits from the unsplit one's, and so make results depend on the
    /// thread count (`ThreadCountTests`, `GEMMSplitTests`). Parts this big stay on the blocked path, as the whole.
    static let minimumPartProduct = 1 << 23

    /// How a product with C of `m x n` is cut for `threads`: along n (columns) or m (rows), in blocks of 16
    /// (the micro-kernels' tiles stay whole), the blocks dealt out evenly. The side is the one whose
    /// largest part is smallest, so no thread waits for another's extra blocks: a ViT's 785 token rows on
    /// 16 threads come out as parts of 48 and 64 rows (the slowest at 1.3x the mean), its 768 columns as
    /// 48 each. The longer side unless the other is more than 10% better balanced (each part re-packs
    /// the operand it shares, and the longer side measured faster where balance was about even). Empty
    /// parts are left out.
    static func split(m: Int, n: Int, threads: Int) -> (alongN: Bool, parts: [Range<Int>]) {
        func parts(_ total: Int) -> [Range<Int>] {
            let blocks = (total + 15) / 16
            return (0..<threads).compactMap { t in
                let lo = min(total, blocks * t / threads * 16), hi = min(total, blocks * (t + 1) / threads * 16)
                return hi > lo ? lo..<hi : nil
            }
        }
        let (rows, columns) = (parts(m), parts(n))
        let (widestRow, widestColumn) = (rows.map(\.count).max() ?? 0, columns.map(\.count).max() ?? 0)
        // The slowest part's work either way; the shorter side only when that is clearly less (on two
        // threads, cutting 785 x 768 by columns instead of rows was 2% slower for a 2% better balance).
        let rowCost = widestRow * n, columnCost = widestColumn * m
        let alongN = n >= m ? 10 * columnCost <= 11 * rowCost : 10 * rowCost > 11 * columnCost
        return (alongN, alongN ? columns : rows)
    }

    /// Whether the fp32 kernels in use give a product's elements the same bits when it is cut into parts (as
    /// `multiply` cuts it over the threads, and a convolution into tiles) as when whole, so that results do not
    /// depend on the thread count. True of OpenBLAS 0.3.21's AVX-512 kernels (SkylakeX, Cooperlake), false of
    /// its AVX2 Haswell ones, whose sums depend on the rows around, and of its SSE ones (Prescott, Core2, Nehalem),
    /// whose column tails sum otherwise (BENCHMARKS.md, "Same bits on any thread count"). Probed once: a product
    /// cut by rows, and convolution tiles' small products cut by columns at odd places.
    static let cutsKeepBits: Bool = {
        _ = EngineThreads.current  // OpenBLAS single-threaded, as under `multiply`
        func keepsBits(m: Int, n: Int, k: Int, cutAt: Int, alongN: Bool) -> Bool {
            // The same operands in every run: some kernels differ on a few elements only.
            var state: UInt32 = 12345
            func next() -> Float {
                state = state &* 1_664_525 &+ 1_013_904_223
                return Float(Int32(bitPattern: state) >> 8) / Float(1 << 23)
            }
            let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
            var whole = [Float](repeating: 0, count: m * n), cut = whole
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    let (a, b) = (pa.baseAddress!, pb.baseAddress!)
                    whole.withUnsafeMutableBufferPointer { run(.fp32, false, false, m, n, k, 1, a, k, b, n, 0, $0.baseAddress!, n) }
                    cut.withUnsafeMutableBufferPointer { pc in
                        let c = pc.baseAddress!
                        for (lo, hi) in [(0, cutAt), (cutAt, alongN ? n : m)] {
                            if alongN {
                                run(.fp32, false, false, m, hi - lo, k, 1, a, k, b + lo, n, 0, c + lo, n)
                            } else {
                                run(.fp32, false, false, hi - lo, n, k, 1, a + lo * k, k, b, n, 0, c + lo * n, n)
                            }
                        }
                    }
                }
            }
            return zip(whole, cut).allSatisfy { $0.bitPattern == $1.bitPattern }
        }
        return keepsBits(m: 785, n: 768, k: 64, cutAt: 400, alongN: false) && keepsBits(m: 27, n: 1000, k: 64, cutAt: 333, alongN: true)
            && keepsBits(m: 27, n: 300, k: 4, cutAt: 93, alongN: true)
    }()

    /// Whether an fp32 product with beta 0 clears C itself (memset) and asks OpenBLAS for beta 1. OpenBLAS
    /// 0.3.21 clears C with one scalar store per float (`sgemm_beta`: 4.5% of a guided step, 4-6% of a
    /// Winograd convolution on 2 Zen 2 cores), and skips that pass for beta 1. Only where its blocked kernels run
    /// either way, which add the product to C's zeros alike, so the bits are the same: the small-product and
    /// "direct" kernels of its AVX-512 cores (and of cores newer than this table) serve beta 0 alone, below
    /// ``minimumPartProduct``.
    static func clearsC(m: Int, n: Int, k: Int) -> Bool {
        (m * n * k >= minimumPartProduct || !coreHasSmallProductKernels) && !openBLASClearsC.load(ordering: .relaxed)
    }

    /// Set by ``GEMMBenchmark/withOpenBLASClearingC(_:)``; process-wide, since products run on worker threads.
    static let openBLASClearsC = Atomic(false)

    /// Whether OpenBLAS's kernels in use may take a product below ``minimumPartProduct`` to its small-product
    /// or direct kernels.
    static let coreHasSmallProductKernels = BLASCore.hasSmallProductKernels(BLASCore.current)

    @inline(__always)
    private static func single(
        _ precision: MatmulPrecision, _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        EngineProfile.gemm(m: m, n: n, k: k) { run(precision, transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) }
    }

    @inline(__always)
    private static func run(
        _ precision: MatmulPrecision, _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float,
        _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        if precision == .bf16 {
            // Its packing buffers are the only allocation; failing one is out of memory, as for any tensor.
            guard sf_bf16_gemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) else {
                fatalError("out of memory for a bf16 GEMM's packing buffers (\(m)x\(n)x\(k))")
            }
            return
        }
        var beta = beta
        if beta == 0 && clearsC(m: m, n: n, k: k) {
            for i in 0..<m { memset(c + i * ldc, 0, n * MemoryLayout<Float>.stride) }
            beta = 1
        }
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// For benchmarks that time the engine's GEMM path against OpenBLAS's own in one run.
@_spi(Benchmarks) public enum GEMMBenchmark {
    /// Runs `body` with OpenBLAS clearing C for every beta-0 product (`sgemm_beta`), as before ``GEMM``
    /// cleared it with memset. Process-wide: nothing else should run products meanwhile.
    public static func withOpenBLASClearingC<R>(_ body: () throws -> R) rethrows -> R {
        GEMM.openBLASClearsC.store(true, ordering: .relaxed)
        defer { GEMM.openBLASClearsC.store(false, ordering: .relaxed) }
        return try body()
    }
}
