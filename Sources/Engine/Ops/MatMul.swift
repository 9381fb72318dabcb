extension Ops {
    /// Batched matrix product `op(a) · op(b)` over the last two axes, where `op` transposes when asked.
    /// `a` is `[..., M, K]` (or `[..., K, M]` transposed); `b` has the same leading axes as `a`, or
    /// is a single matrix shared by every batch entry.
    public static func matmul(_ a: Variable, _ b: Variable, transposeA: Bool = false, transposeB: Bool = false) -> Variable {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs matrices, got \(a.shape) and \(b.shape)")
        let (ar, br) = (a.rank, b.rank)
        let m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2]
        let k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1]
        let kb = transposeB ? b.shape[br - 1] : b.shape[br - 2]
        let n = transposeB ? b.shape[br - 2] : b.shape[br - 1]
        precondition(k == kb, "matmul: inner sizes differ in \(a.shape) x \(b.shape)")
        let batchShape = Array(a.shape[..<(ar - 2)])
        let sharedB = br == 2
        precondition(sharedB || Array(b.shape[..<(br - 2)]) == batchShape, "matmul: batch axes differ in \(a.shape) x \(b.shape)")
        let batch = batchShape.reduce(1, *)
        let (lda, ldb) = (a.shape[ar - 1], b.shape[br - 1])
        let (strideA, strideB) = (m * k, sharedB ? 0 : k * n)
        let out = Tensor(uninitializedShape: batchShape + [m, n])
        let pa = a.value.readPointer, pb = b.value.readPointer, pc = out.mutablePointer
        for i in 0..<batch {
            GEMM.multiply(
                transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                a: pa + i * strideA, lda: lda, b: pb + i * strideB, ldb: ldb, c: pc + i * m * n, ldc: n)
        }
        withExtendedLifetime((a, b)) {}
        let keepA = b.requiresGradient ? a.value : nil
        let keepB = a.requiresGradient ? b.value : nil
        let (shapeA, shapeB) = (a.shape, b.shape)
        return Variable.make(out, [a, b]) { dy in
            let g = dy.readPointer
            var da: Tensor?, db: Tensor?
            if let bv = keepB {
                let t = Tensor(uninitializedShape: shapeA)
                let p = bv.readPointer, d = t.mutablePointer
                for i in 0..<batch {
                    let gi = g + i * m * n, bi = p + i * strideB, di = d + i * strideA
                    if transposeA {
                        // dA (stored K x M) = op(B) · dYᵀ
                        GEMM.multiply(transposeA: transposeB, transposeB: true, m: k, n: m, k: n, a: bi, lda: ldb, b: gi, ldb: n, c: di, ldc: m)
                    } else {
                        // dA (M x K) = dY · op(B)ᵀ
                        GEMM.multiply(transposeB: !transposeB, m: m, n: k, k: n, a: gi, lda: n, b: bi, ldb: ldb, c: di, ldc: k)
                    }
                }
                withExtendedLifetime(bv) {}
                da = t
            }
            if let av = keepA {
                let t = Tensor.zeros(shapeB)
                let p = av.readPointer, d = t.mutablePointer
                for i in 0..<batch {
                    let gi = g + i * m * n, ai = p + i * strideA, di = d + i * strideB
                    let beta: Float = sharedB ? 1 : 0
                    if transposeB {
                        // dB (stored N x K) = dYᵀ · op(A)
                        GEMM.multiply(transposeA: true, transposeB: transposeA, m: n, n: k, k: m, a: gi, lda: n, b: ai, ldb: lda, beta: beta, c: di, ldc: k)
                    } else {
                        // dB (K x N) = op(A)ᵀ · dY
                        GEMM.multiply(transposeA: !transposeA, m: k, n: n, k: m, a: ai, lda: lda, b: gi, ldb: n, beta: beta, c: di, ldc: n)
                    }
                }
                withExtendedLifetime(av) {}
                db = t
            }
            withExtendedLifetime(dy) {}
            return [da, db]
        }
    }
}
