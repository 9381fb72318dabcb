extension Ops {
    /// Sum of all elements, shape `[]`.
    public static func sum(_ x: Variable) -> Variable {
        let total = Float(VectorMath.sum(x.value.readPointer, x.value.count))
        withExtendedLifetime(x) {}
        let shape = x.shape
        return Variable.make(Tensor(shape: [], scalars: [total]), [x]) { dy in
            [Tensor(shape: shape, repeating: dy.scalars[0])]
        }
    }

    /// Mean of all elements, shape `[]`.
    public static func mean(_ x: Variable) -> Variable {
        scale(sum(x), 1 / Float(max(x.value.count, 1)))
    }

    /// Mean along `axis` (the axis is removed).
    public static func mean(_ x: Variable, axis: Int) -> Variable {
        let ax = normalizedAxis(axis, rank: x.rank)
        let outer = x.shape[..<ax].reduce(1, *), n = x.shape[ax], inner = x.shape[(ax + 1)...].reduce(1, *)
        var outShape = x.shape
        outShape.remove(at: ax)
        let out = Tensor.zeros(outShape)
        let src = x.value.readPointer, dst = out.mutablePointer
        let inv = 1 / Float(n)
        for o in 0..<outer {
            for i in 0..<n {
                let row = src + (o * n + i) * inner, d = dst + o * inner
                for j in 0..<inner { d[j] += row[j] }
            }
            for j in 0..<inner { dst[o * inner + j] *= inv }
        }
        withExtendedLifetime(x) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: inShape)
            let g = dy.readPointer, d = dx.mutablePointer
            for o in 0..<outer {
                for i in 0..<n {
                    for j in 0..<inner { d[(o * n + i) * inner + j] = g[o * inner + j] * inv }
                }
            }
            withExtendedLifetime(dy) {}
            return [dx]
        }
    }

    /// Mean squared error `mean((a - b)²)`, shape `[]` (shapes must match).
    public static func mse(_ a: Variable, _ b: Variable) -> Variable {
        precondition(a.shape == b.shape, "mse: shapes \(a.shape) and \(b.shape) differ")
        let diff = a - b
        return mean(diff * diff)
    }
}
