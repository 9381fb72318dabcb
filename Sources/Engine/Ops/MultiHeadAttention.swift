extension Ops {
    /// Multi-head scaled dot-product self-attention on token-major fused projections.
    ///
    /// `qkv` is `[B, N, 3D]` with features ordered q | k | v, each split head-major into `heads` slices of
    /// `D / heads` (the layout of DINO's `attn.qkv` output and of `nn.MultiheadAttention`'s `in_proj`).
    /// Weights are `softmax(q·kᵀ / √(D/heads))` over keys; with `causal`, key j is masked for query i < j
    /// (CLIP's text mask). Returns `[B, N, D]`, heads concatenated head-major.
    public static func selfAttention(_ qkv: Variable, heads: Int, causal: Bool = false) -> Variable {
        precondition(qkv.rank == 3 && qkv.shape[2] % (3 * heads) == 0, "selfAttention: qkv \(qkv.shape) is not [B, N, 3·D] for \(heads) heads")
        let (batch, tokens, width) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        let layout = TokenAttention(
            batch: batch, heads: heads, headDim: width / heads, queries: tokens, keys: tokens, causal: causal,
            q: .init(offset: 0, rowStride: 3 * width, batchStride: tokens * 3 * width),
            k: .init(offset: width, rowStride: 3 * width, batchStride: tokens * 3 * width),
            v: .init(offset: 2 * width, rowStride: 3 * width, batchStride: tokens * 3 * width))
        let out = Tensor(uninitializedShape: [batch, tokens, width])
        let probs = Tensor(uninitializedShape: [batch, heads, tokens, tokens])
        let p = qkv.value.readPointer
        layout.forward(q: p, k: p, v: p, probs: probs.mutablePointer, out: out.mutablePointer)
        withExtendedLifetime(qkv) {}
        let input = qkv.value
        return Variable.make(out, [qkv]) { dy in
            let dqkv = Tensor(uninitializedShape: input.shape)
            let d = dqkv.mutablePointer, x = input.readPointer
            layout.backward(q: x, k: x, v: x, probs: probs.readPointer, dOut: dy.readPointer, dq: d, dk: d, dv: d)
            withExtendedLifetime((input, probs, dy)) {}
            return [dqkv]
        }
    }

    /// Multi-head scaled dot-product attention with separate projections: `query [B, Nq, D]`,
    /// `key` and `value [B, Nk, D]` (each head-major), returning `[B, Nq, D]`. Used by CLIP's attention
    /// pooling, whose single query is the mean token.
    public static func attention(query: Variable, key: Variable, value: Variable, heads: Int) -> Variable {
        precondition(query.rank == 3 && key.rank == 3 && value.rank == 3, "attention: expects [B, N, D] operands")
        let (batch, nq, width) = (query.shape[0], query.shape[1], query.shape[2])
        let nk = key.shape[1]
        precondition(key.shape == [batch, nk, width] && value.shape == key.shape && width % heads == 0,
            "attention: shapes \(query.shape), \(key.shape), \(value.shape) do not fit \(heads) heads")
        let layout = TokenAttention(
            batch: batch, heads: heads, headDim: width / heads, queries: nq, keys: nk, causal: false,
            q: .init(offset: 0, rowStride: width, batchStride: nq * width),
            k: .init(offset: 0, rowStride: width, batchStride: nk * width),
            v: .init(offset: 0, rowStride: width, batchStride: nk * width))
        let out = Tensor(uninitializedShape: [batch, nq, width])
        let probs = Tensor(uninitializedShape: [batch, heads, nq, nk])
        layout.forward(q: query.value.readPointer, k: key.value.readPointer, v: value.value.readPointer, probs: probs.mutablePointer, out: out.mutablePointer)
        withExtendedLifetime((query, key, value)) {}
        let (qv, kv, vv) = (query.value, key.value, value.value)
        return Variable.make(out, [query, key, value]) { dy in
            let dq = Tensor(uninitializedShape: qv.shape), dk = Tensor(uninitializedShape: kv.shape), dv = Tensor(uninitializedShape: vv.shape)
            layout.backward(
                q: qv.readPointer, k: kv.readPointer, v: vv.readPointer, probs: probs.readPointer, dOut: dy.readPointer,
                dq: dq.mutablePointer, dk: dk.mutablePointer, dv: dv.mutablePointer)
            withExtendedLifetime((qv, kv, vv, probs, dy)) {}
            return [dq, dk, dv]
        }
    }
}

/// Addressing and per-head GEMM/softmax sequence of token-major multi-head attention.
///
/// q, k and v are read in place through row strides (no head split copies); the output and its gradient
/// are `[B, Nq, D]` contiguous. The softmax probabilities are kept for the backward pass (`[B, H, Nq, Nk]`),
/// which trades memory (30 MB per layer for ViT-B/8 at 224) for not recomputing q·kᵀ.
struct TokenAttention {
    struct Operand {
        /// Feature offset of the operand's first head within a row.
        let offset: Int
        let rowStride: Int
        let batchStride: Int
    }

    let batch: Int, heads: Int, headDim: Int, queries: Int, keys: Int, causal: Bool
    let q: Operand, k: Operand, v: Operand

    var width: Int { heads * headDim }
    var scale: Float { 1 / Float(headDim).squareRoot() }

    /// Keys visible to query row `i`.
    func visible(_ i: Int) -> Int { causal ? min(i + 1, keys) : keys }

    func forward(
        q qp: UnsafePointer<Float>, k kp: UnsafePointer<Float>, v vp: UnsafePointer<Float>,
        probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let (nq, nk, hd, d) = (queries, keys, headDim, width)
        for b in 0..<batch {
            for h in 0..<heads {
                let qh = qp + b * q.batchStride + q.offset + h * hd
                let kh = kp + b * k.batchStride + k.offset + h * hd
                let vh = vp + b * v.batchStride + v.offset + h * hd
                let p = probs + (b * heads + h) * nq * nk
                GEMM.multiply(transposeB: true, m: nq, n: nk, k: hd, alpha: scale, a: qh, lda: q.rowStride, b: kh, ldb: k.rowStride, c: p, ldc: nk)
                softmaxRows(p)
                GEMM.multiply(m: nq, n: hd, k: nk, a: p, lda: nk, b: vh, ldb: v.rowStride, c: out + b * nq * d + h * hd, ldc: d)
            }
        }
    }

    /// Row softmax of one head's logits, masked entries set to 0.
    func softmaxRows(_ p: UnsafeMutablePointer<Float>) {
        let nk = keys
        let ptr = UncheckedSendable(p)
        Parallel.forEach(queries, grain: max(1, 8192 / max(nk, 1))) { i in
            let row = ptr.value + i * nk
            let n = visible(i)
            var m = -Float.infinity
            for j in 0..<n { m = max(m, row[j]) }
            let mv = SIMD8<Float>(repeating: m)
            VectorMath.map(row, row, n) { VectorMath.exp($0 - mv) }
            let inv = Float(1 / VectorMath.sum(row, n))
            VectorMath.map(row, row, n) { $0 * inv }
            if n < nk { (row + n).update(repeating: 0, count: nk - n) }
        }
    }

    /// Gradients of q, k, v (written through their operand layouts; `dq`, `dk`, `dv` may be one buffer
    /// when the operands interleave, as in fused qkv) given the output gradient `[B, Nq, D]`.
    func backward(
        q qp: UnsafePointer<Float>, k kp: UnsafePointer<Float>, v vp: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        dOut: UnsafePointer<Float>,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        let (nq, nk, hd, d) = (queries, keys, headDim, width)
        TensorStorage.withScratch(nq * nk) { ds in
            for b in 0..<batch {
                for h in 0..<heads {
                    let (qo, ko, vo) = (b * q.batchStride + q.offset + h * hd, b * k.batchStride + k.offset + h * hd, b * v.batchStride + v.offset + h * hd)
                    let p = probs + (b * heads + h) * nq * nk
                    let g = dOut + b * nq * d + h * hd
                    // dV = Pᵀ·dO ; dP = dO·Vᵀ
                    GEMM.multiply(transposeA: true, m: nk, n: hd, k: nq, a: p, lda: nk, b: g, ldb: d, c: dv + vo, ldc: v.rowStride)
                    GEMM.multiply(transposeB: true, m: nq, n: nk, k: hd, a: g, lda: d, b: vp + vo, ldb: v.rowStride, c: ds, ldc: nk)
                    // dS = P ⊙ (dP − Σ_j dP·P): masked entries have P = 0 and get no gradient.
                    SoftmaxKernel.backward(y: p, dy: ds, dx: ds, rows: nq, d: nk)
                    // dQ = scale·dS·K ; dK = scale·dSᵀ·Q
                    GEMM.multiply(m: nq, n: hd, k: nk, alpha: scale, a: ds, lda: nk, b: kp + ko, ldb: k.rowStride, c: dq + qo, ldc: q.rowStride)
                    GEMM.multiply(transposeA: true, m: nk, n: hd, k: nq, alpha: scale, a: ds, lda: nk, b: qp + qo, ldb: q.rowStride, c: dk + ko, ldc: k.rowStride)
                }
            }
        }
    }
}
