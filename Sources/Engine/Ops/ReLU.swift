extension Ops {
    /// ReLU: `max(x, 0)`. The backward passes the gradient where the output is positive (PyTorch's
    /// convention at 0: no gradient), so only the output is kept.
    public static func relu(_ x: Variable) -> Variable {
        let zero = SIMD8<Float>(repeating: 0)
        let out = mapTensor(x.value) { $0.replacing(with: zero, where: $0 .< zero) }
        return Variable.make(out, [x]) { dy in
            [mapTensors(out, dy) { y, g in g.replacing(with: zero, where: y .<= zero) }]
        }
    }
}

extension Ops {
    /// PReLU on `[B, C, ...]`: `x` where `x > 0`, else `slope[c]·x`, with a constant slope per channel (`[C]`)
    /// or one for all channels (`[1]`), in one pass. The input is kept for the backward pass (the slope's sign
    /// is free, so the output does not tell which side of 0 the input was on).
    public static func prelu(_ x: Variable, slope: Tensor) -> Variable {
        precondition(x.rank >= 2 && slope.rank == 1 && (slope.count == x.shape[1] || slope.count == 1),
            "prelu: slope \(slope.shape) does not match the channels of \(x.shape)")
        let size = x.value.count / max(x.shape[0] * x.shape[1], 1)
        let shared = slope.count == 1
        let out = Tensor(uninitializedShape: x.shape)
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer), a = UncheckedSendable(slope.readPointer)
        let zero = SIMD8<Float>(repeating: 0)
        forEachChannelPlane(x.shape) { p, c in
            let va = SIMD8<Float>(repeating: a.value[shared ? 0 : c])
            VectorMath.map(src.value + p * size, dst.value + p * size, size) { v in v.replacing(with: v * va, where: v .<= zero) }
        }
        withExtendedLifetime((x, slope)) {}
        let input = x.value
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: dy.shape)
            let xs = UncheckedSendable(input.readPointer), g = UncheckedSendable(dy.readPointer), d = UncheckedSendable(dx.mutablePointer)
            let a = UncheckedSendable(slope.readPointer)
            forEachChannelPlane(dy.shape) { p, c in
                let va = SIMD8<Float>(repeating: a.value[shared ? 0 : c])
                VectorMath.map2(xs.value + p * size, g.value + p * size, d.value + p * size, size) { v, gv in
                    gv.replacing(with: gv * va, where: v .<= zero)
                }
            }
            withExtendedLifetime((input, dy, slope)) {}
            return [dx]
        }
    }
}
