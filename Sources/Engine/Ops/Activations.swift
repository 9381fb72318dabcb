extension Ops {
    /// Applies `f` element-wise in parallel, returning a new tensor.
    static func mapTensor(_ x: Tensor, _ f: @escaping (SIMD8<Float>) -> SIMD8<Float>) -> Tensor {
        let out = Tensor(uninitializedShape: x.shape)
        let src = UncheckedSendable(x.readPointer), dst = UncheckedSendable(out.mutablePointer)
        Parallel.forRanges(x.count, grain: 1 << 15) { r in
            VectorMath.map(src.value + r.lowerBound, dst.value + r.lowerBound, r.count, f)
        }
        withExtendedLifetime(x) {}
        return out
    }

    /// Applies `f(a, b)` element-wise (same shapes) in parallel.
    static func mapTensors(_ a: Tensor, _ b: Tensor, _ f: @escaping (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>) -> Tensor {
        precondition(a.count == b.count, "element count mismatch \(a.shape) vs \(b.shape)")
        let out = Tensor(uninitializedShape: a.shape)
        let pa = UncheckedSendable(a.readPointer), pb = UncheckedSendable(b.readPointer), dst = UncheckedSendable(out.mutablePointer)
        Parallel.forRanges(a.count, grain: 1 << 15) { r in
            VectorMath.map2(pa.value + r.lowerBound, pb.value + r.lowerBound, dst.value + r.lowerBound, r.count, f)
        }
        withExtendedLifetime((a, b)) {}
        return out
    }

    /// SiLU: `x * sigmoid(x)`.
    public static func silu(_ x: Variable) -> Variable {
        let out = mapTensor(x.value) { v in v * VectorMath.sigmoid(v) }
        let input = x.value
        return Variable.make(out, [x]) { dy in
            [mapTensors(input, dy) { v, g in
                let s = VectorMath.sigmoid(v)
                return g * (s * (1 + v * (1 - s)))
            }]
        }
    }

    /// Sigmoid `1 / (1 + e^(−x))`; only the output is kept for the backward pass (`y·(1 − y)`).
    public static func sigmoid(_ x: Variable) -> Variable {
        let out = mapTensor(x.value) { VectorMath.sigmoid($0) }
        return Variable.make(out, [x]) { dy in
            [mapTensors(out, dy) { y, g in g * (y * (1 - y)) }]
        }
    }

    /// QuickGELU (CLIP): `x * sigmoid(1.702 x)`.
    public static func quickGELU(_ x: Variable) -> Variable {
        let out = mapTensor(x.value) { v in v * VectorMath.sigmoid(1.702 * v) }
        let input = x.value
        return Variable.make(out, [x]) { dy in
            [mapTensors(input, dy) { v, g in
                let s = VectorMath.sigmoid(1.702 * v)
                return g * (s + 1.702 * v * s * (1 - s))
            }]
        }
    }

    /// GELU with the exact erf form: `0.5 x (1 + erf(x / √2))` (PyTorch `nn.GELU()`); erf is
    /// evaluated to about 1e-7 absolute.
    public static func gelu(_ x: Variable) -> Variable {
        let out = mapTensor(x.value) { v in 0.5 * v * (1 + VectorMath.erf(v * 0.70710678118654752)) }
        let input = x.value
        return Variable.make(out, [x]) { dy in
            [mapTensors(input, dy) { v, g in
                let cdf = 0.5 * (1 + VectorMath.erf(v * 0.70710678118654752))
                let pdf = VectorMath.exp(-0.5 * v * v) * 0.39894228040143268
                return g * (cdf + v * pdf)
            }]
        }
    }

    /// Softmax over the last axis.
    public static func softmax(_ x: Variable) -> Variable {
        let d = x.shape.last ?? 1
        let rows = x.value.count / max(d, 1)
        let out = Tensor(uninitializedShape: x.shape)
        SoftmaxKernel.forward(x.value.readPointer, out.mutablePointer, rows: rows, d: d)
        withExtendedLifetime(x) {}
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: out.shape)
            SoftmaxKernel.backward(y: out.readPointer, dy: dy.readPointer, dx: dx.mutablePointer, rows: rows, d: d)
            withExtendedLifetime((out, dy)) {}
            return [dx]
        }
    }
}
