import CBFloat16
import COpenBLAS

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
        // see EngineThreads). Each part packs its own copy of the operand it shares, so split the
        // larger side of C: along n every part re-packs A (m·k), along m every part re-packs B (k·n).
        if threads > 1, m * n * k >= 1 << 21, max(m, n) >= 32 * threads {
            let alongN = n >= m
            let total = alongN ? n : m
            let pa = UncheckedSendable(a), pb = UncheckedSendable(b), pc = UncheckedSendable(c)
            Parallel.forRanges(threads) { parts in
                for part in parts {
                    // Boundaries on multiples of 16 keep the micro-kernel's blocks whole.
                    let lo = (total * part / threads) & ~15
                    let hi = part == threads - 1 ? total : (total * (part + 1) / threads) & ~15
                    guard hi > lo else { continue }
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
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
