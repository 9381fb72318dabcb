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

    /// Query (or key) rows per work item. Every head's rows are cut into such blocks and all the blocks of
    /// all heads share the threads, each running single-threaded GEMMs: per-head products split over 16
    /// threads were slivers of 48-64 rows with a hand-off each, three per head and layer.
    static let rowBlock = 64

    private func blocks(_ rows: Int) -> Int { (rows + Self.rowBlock - 1) / Self.rowBlock }

    /// Calls `body(b, h, first, count)` for every block of `rows` rows of every batch item and head, in parallel.
    private func forEachBlock(of rows: Int, _ body: (_ b: Int, _ h: Int, _ first: Int, _ count: Int) -> Void) {
        let perHead = blocks(rows)
        Parallel.forEach(batch * heads * perHead) { item in
            let (bh, block) = item.quotientAndRemainder(dividingBy: perHead)
            let first = block * Self.rowBlock
            body(bh / heads, bh % heads, first, min(Self.rowBlock, rows - first))
        }
    }

    func forward(
        q qp: UnsafePointer<Float>, k kp: UnsafePointer<Float>, v vp: UnsafePointer<Float>,
        probs: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    ) {
        let (nq, nk, hd, d) = (queries, keys, headDim, width)
        let (pq, pk, pv, pp, po) = (UncheckedSendable(qp), UncheckedSendable(kp), UncheckedSendable(vp), UncheckedSendable(probs), UncheckedSendable(out))
        forEachBlock(of: nq) { b, h, i0, rows in
            let qh = pq.value + b * q.batchStride + q.offset + h * hd + i0 * q.rowStride
            let kh = pk.value + b * k.batchStride + k.offset + h * hd
            let vh = pv.value + b * v.batchStride + v.offset + h * hd
            let p = pp.value + (b * heads + h) * nq * nk + i0 * nk
            GEMM.multiply(transposeB: true, m: rows, n: nk, k: hd, alpha: scale, a: qh, lda: q.rowStride, b: kh, ldb: k.rowStride, c: p, ldc: nk, threads: 1)
            softmaxRows(p, first: i0, count: rows)
            GEMM.multiply(m: rows, n: hd, k: nk, a: p, lda: nk, b: vh, ldb: v.rowStride, c: po.value + b * nq * d + i0 * d + h * hd, ldc: d, threads: 1)
        }
    }

    /// Row softmax of query rows `first..<first + count` of one head's logits, masked entries set to 0.
    func softmaxRows(_ p: UnsafeMutablePointer<Float>, first: Int, count: Int) {
        let nk = keys
        for r in 0..<count {
            let row = p + r * nk
            let n = visible(first + r)
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
    /// when the operands interleave, as in fused qkv) given the output gradient `[B, Nq, D]`. Two passes over
    /// blocks: by query rows (dP, dS, dQ; dS of every head kept), then by key rows (dV and dK sum over all
    /// query rows).
    func backward(
        q qp: UnsafePointer<Float>, k kp: UnsafePointer<Float>, v vp: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        dOut: UnsafePointer<Float>,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        let (nq, nk, hd, d) = (queries, keys, headDim, width)
        let (pq, pk, pv, pp, pg) = (UncheckedSendable(qp), UncheckedSendable(kp), UncheckedSendable(vp), UncheckedSendable(probs), UncheckedSendable(dOut))
        let (pdq, pdk, pdv) = (UncheckedSendable(dq), UncheckedSendable(dk), UncheckedSendable(dv))
        TensorStorage.withScratch(batch * heads * nq * nk) { scratch in
            let ds = UncheckedSendable(scratch)
            forEachBlock(of: nq) { b, h, i0, rows in
                let (qo, ko, vo) = (b * q.batchStride + q.offset + h * hd, b * k.batchStride + k.offset + h * hd, b * v.batchStride + v.offset + h * hd)
                let head = (b * heads + h) * nq * nk + i0 * nk
                let g = pg.value + b * nq * d + i0 * d + h * hd
                // dP = dO·Vᵀ ; dS = P ⊙ (dP − Σ_j dP·P): masked entries have P = 0 and get no gradient.
                GEMM.multiply(transposeB: true, m: rows, n: nk, k: hd, a: g, lda: d, b: pv.value + vo, ldb: v.rowStride, c: ds.value + head, ldc: nk, threads: 1)
                SoftmaxKernel.backward(y: pp.value + head, dy: ds.value + head, dx: ds.value + head, rows: rows, d: nk, parallel: false)
                // dQ = scale·dS·K
                GEMM.multiply(m: rows, n: hd, k: nk, alpha: scale, a: ds.value + head, lda: nk, b: pk.value + ko, ldb: k.rowStride,
                    c: pdq.value + qo + i0 * q.rowStride, ldc: q.rowStride, threads: 1)
            }
            forEachBlock(of: nk) { b, h, j0, cols in
                let (qo, ko, vo) = (b * q.batchStride + q.offset + h * hd, b * k.batchStride + k.offset + h * hd, b * v.batchStride + v.offset + h * hd)
                let head = (b * heads + h) * nq * nk + j0
                let g = pg.value + b * nq * d + h * hd
                // dV = Pᵀ·dO ; dK = scale·dSᵀ·Q, over these key rows
                GEMM.multiply(transposeA: true, m: cols, n: hd, k: nq, a: pp.value + head, lda: nk, b: g, ldb: d,
                    c: pdv.value + vo + j0 * v.rowStride, ldc: v.rowStride, threads: 1)
                GEMM.multiply(transposeA: true, m: cols, n: hd, k: nq, alpha: scale, a: ds.value + head, lda: nk, b: pq.value + qo, ldb: q.rowStride,
                    c: pdk.value + ko + j0 * k.rowStride, ldc: k.rowStride, threads: 1)
            }
        }
    }
}
