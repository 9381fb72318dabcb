/// Row-wise softmax over the last axis (max-subtracted, vectorised exp), multithreaded over rows.
enum SoftmaxKernel {
    static func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, d: Int) {
        let px = UncheckedSendable(x), py = UncheckedSendable(y)
        Parallel.forEach(rows, grain: max(1, 8192 / max(d, 1))) { r in
            let src = px.value + r * d, dst = py.value + r * d
            var m = -Float.infinity
            for i in 0..<d { m = max(m, src[i]) }
            let mv = SIMD8<Float>(repeating: m)
            VectorMath.map(src, dst, d) { VectorMath.exp($0 - mv) }
            let inv = Float(1 / VectorMath.sum(dst, d))
            VectorMath.map(dst, dst, d) { $0 * inv }
        }
    }

    /// `dx = y * (dy - Σ dy·y)` per row; `parallel: false` from inside a parallel loop.
    static func backward(y: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, d: Int, parallel: Bool = true) {
        let py = UncheckedSendable(y), pdy = UncheckedSendable(dy), pdx = UncheckedSendable(dx)
        let row = { (r: Int) in
            let yr = py.value + r * d, gr = pdy.value + r * d
            let s = SIMD8<Float>(repeating: Float(VectorMath.dot(yr, gr, d)))
            VectorMath.map2(yr, gr, pdx.value + r * d, d) { yv, gv in yv * (gv - s) }
        }
        if parallel { Parallel.forEach(rows, grain: max(1, 8192 / max(d, 1)), row) } else { for r in 0..<rows { row(r) } }
    }
}
