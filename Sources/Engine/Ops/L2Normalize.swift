extension Ops {
    /// Each row along the last axis divided by its Euclidean norm (`x / x.norm(dim=-1)`, no epsilon:
    /// callers pass feature vectors that are never zero).
    public static func l2Normalize(_ x: Variable) -> Variable {
        let d = x.shape.last ?? 1
        let rows = x.value.count / max(d, 1)
        let out = Tensor(uninitializedShape: x.shape)
        var norms = [Float](repeating: 0, count: rows)
        let src = x.value.readPointer, dst = out.mutablePointer
        for r in 0..<rows {
            var s: Float = 0
            for j in 0..<d { s += src[r * d + j] * src[r * d + j] }
            let n = s.squareRoot()
            norms[r] = n
            for j in 0..<d { dst[r * d + j] = src[r * d + j] / n }
        }
        withExtendedLifetime(x) {}
        return Variable.make(out, [x]) { dy in
            // d/dx (x/|x|) · g = (g − y (y·g)) / |x|
            let dx = Tensor(uninitializedShape: out.shape)
            let y = out.readPointer, g = dy.readPointer, o = dx.mutablePointer
            for r in 0..<rows {
                var dot: Float = 0
                for j in 0..<d { dot += y[r * d + j] * g[r * d + j] }
                for j in 0..<d { o[r * d + j] = (g[r * d + j] - y[r * d + j] * dot) / norms[r] }
            }
            withExtendedLifetime((out, dy)) {}
            return [dx]
        }
    }
}
