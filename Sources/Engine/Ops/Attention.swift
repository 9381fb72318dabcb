extension Ops {
    /// ADM's spatial self-attention core on `qkv [B, 3·H·ch, T]`, returning `[B, H·ch, T]`.
    ///
    /// `legacyOrder` (guided-diffusion `QKVAttentionLegacy`, the order of the released checkpoints):
    /// head n owns channels `[n·3ch, (n+1)·3ch)` laid out q, k, v. Otherwise (`QKVAttention`, the
    /// "new order") q, k and v are three contiguous `H·ch` chunks, split into heads inside each.
    /// Weights are `softmax(qᵀk / √ch)` over keys; the backward recomputes them from `qkv`
    /// instead of keeping the T×T maps.
    public static func qkvAttention(_ qkv: Variable, heads: Int, legacyOrder: Bool = true) -> Variable {
        precondition(qkv.rank == 3 && qkv.shape[1] % (3 * heads) == 0, "qkvAttention: bad qkv shape \(qkv.shape) for \(heads) heads")
        let (batch, width, tokens) = (qkv.shape[0], qkv.shape[1], qkv.shape[2])
        let ch = width / (3 * heads)
        let layout = AttentionLayout(batch: batch, heads: heads, ch: ch, tokens: tokens, legacy: legacyOrder)
        let out = Tensor(uninitializedShape: [batch, heads * ch, tokens])
        layout.forward(qkv.value.readPointer, out.mutablePointer)
        withExtendedLifetime(qkv) {}
        let input = qkv.value
        return Variable.make(out, [qkv]) { dy in
            let dqkv = Tensor(uninitializedShape: input.shape)
            layout.backward(input.readPointer, dy.readPointer, dqkv.mutablePointer)
            withExtendedLifetime((input, dy)) {}
            return [dqkv]
        }
    }
}

/// Head addressing and the per-head GEMM/softmax sequence of `Ops.qkvAttention`.
struct AttentionLayout {
    let batch: Int, heads: Int, ch: Int, tokens: Int, legacy: Bool

    /// Row offsets (in channels) of q, k, v of head `n` within one sample's `3·H·ch` channels.
    func rows(_ n: Int) -> (q: Int, k: Int, v: Int) {
        legacy ? (3 * ch * n, 3 * ch * n + ch, 3 * ch * n + 2 * ch) : (ch * n, heads * ch + ch * n, 2 * heads * ch + ch * n)
    }

    var scale2: Float { 1 / Float(ch).squareRoot() }

    /// weights[t, s] = softmax_s(scale² Σ_c q[c,t] k[c,s]).
    func weights(_ q: UnsafePointer<Float>, _ k: UnsafePointer<Float>, into w: UnsafeMutablePointer<Float>) {
        let t = tokens
        GEMM.multiply(transposeA: true, m: t, n: t, k: ch, alpha: scale2, a: q, lda: t, b: k, ldb: t, c: w, ldc: t)
        SoftmaxKernel.forward(w, w, rows: t, d: t)
    }

    func forward(_ qkv: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        let t = tokens
        TensorStorage.withScratch(t * t) { w in
            for b in 0..<batch {
                let base = qkv + b * 3 * heads * ch * t
                for n in 0..<heads {
                    let r = rows(n)
                    weights(base + r.q * t, base + r.k * t, into: w)
                    // a[c, t] = Σ_s v[c, s] w[t, s]
                    GEMM.multiply(
                        transposeB: true, m: ch, n: t, k: t, a: base + r.v * t, lda: t, b: w, ldb: t,
                        c: out + (b * heads + n) * ch * t, ldc: t)
                }
            }
        }
    }

    func backward(_ qkv: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dqkv: UnsafeMutablePointer<Float>) {
        let t = tokens
        TensorStorage.withScratch(2 * t * t) { w in
            let dw = w + t * t
            for b in 0..<batch {
                let base = qkv + b * 3 * heads * ch * t
                let dbase = dqkv + b * 3 * heads * ch * t
                for n in 0..<heads {
                    let r = rows(n)
                    let (q, k, v) = (base + r.q * t, base + r.k * t, base + r.v * t)
                    let da = dy + (b * heads + n) * ch * t
                    weights(q, k, into: w)
                    // dV = dA · W ; dW = dAᵀ · V
                    GEMM.multiply(m: ch, n: t, k: t, a: da, lda: t, b: w, ldb: t, c: dbase + r.v * t, ldc: t)
                    GEMM.multiply(transposeA: true, m: t, n: t, k: ch, a: da, lda: t, b: v, ldb: t, c: dw, ldc: t)
                    SoftmaxKernel.backward(y: w, dy: dw, dx: dw, rows: t, d: t)
                    // dQ = scale² K · dSᵀ ; dK = scale² Q · dS
                    GEMM.multiply(transposeB: true, m: ch, n: t, k: t, alpha: scale2, a: k, lda: t, b: dw, ldb: t, c: dbase + r.q * t, ldc: t)
                    GEMM.multiply(m: ch, n: t, k: t, alpha: scale2, a: q, lda: t, b: dw, ldb: t, c: dbase + r.k * t, ldc: t)
                }
            }
        }
    }
}
