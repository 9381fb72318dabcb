extension Ops {
    /// Calls `body(plane, channel)` for every `[B, C, ...]` plane (one per batch row and channel) of `size`
    /// elements, spreading the planes over the engine's threads.
    static func forEachChannelPlane(_ shape: [Int], _ body: (_ plane: Int, _ channel: Int) -> Void) {
        let (planes, channels) = (shape[0] * shape[1], shape[1])
        let size = Tensor.elementCount(shape) / max(planes, 1)
        Parallel.forEach(planes, grain: max(1, 16384 / max(size, 1))) { p in body(p, p % channels) }
    }

    /// `x·scale[c] + shift[c]` on `[B, C, ...]` with constant per-channel `scale [C]` and `shift [C]` (an
    /// inference-mode BatchNorm), in one pass; only `scale` is kept for the backward pass.
    public static func channelAffine(_ x: Variable, scale: Tensor, shift: Tensor) -> Variable {
        precondition(x.rank >= 2 && scale.shape == [x.shape[1]] && shift.shape == [x.shape[1]],
            "channelAffine: scale \(scale.shape) and shift \(shift.shape) do not match the channels of \(x.shape)")
        let size = x.value.count / max(x.shape[0] * x.shape[1], 1)
        let out = Tensor(uninitializedShape: x.shape)
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer)
        let a = UncheckedSendable(scale.readPointer), b = UncheckedSendable(shift.readPointer)
        forEachChannelPlane(x.shape) { p, c in
            let (va, vb) = (SIMD8<Float>(repeating: a.value[c]), SIMD8<Float>(repeating: b.value[c]))
            VectorMath.map(src.value + p * size, dst.value + p * size, size) { $0 * va + vb }
        }
        withExtendedLifetime((x, scale, shift)) {}
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: dy.shape)
            let g = UncheckedSendable(dy.readPointer), d = UncheckedSendable(dx.mutablePointer), a = UncheckedSendable(scale.readPointer)
            forEachChannelPlane(dy.shape) { p, c in
                let va = SIMD8<Float>(repeating: a.value[c])
                VectorMath.map(g.value + p * size, d.value + p * size, size) { $0 * va }
            }
            withExtendedLifetime((dy, scale)) {}
            return [dx]
        }
    }

    /// `x[b, c, ...]·gate[b, c]` for `x [B, C, ...]` and a per-sample channel gate of `B·C` elements
    /// (`[B, C]` or `[B, C, 1, 1]`), both differentiable: the squeeze-and-excitation product, in one pass.
    public static func scaleChannels(_ x: Variable, by gate: Variable) -> Variable {
        precondition(x.rank >= 2 && gate.shape.first == x.shape[0] && gate.value.count == x.shape[0] * x.shape[1],
            "scaleChannels: gate \(gate.shape) is not one value per sample and channel of \(x.shape)")
        let size = x.value.count / max(x.shape[0] * x.shape[1], 1)
        let out = Tensor(uninitializedShape: x.shape)
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer)
        let s = UncheckedSendable(gate.value.readPointer)
        forEachChannelPlane(x.shape) { p, _ in
            let v = SIMD8<Float>(repeating: s.value[p])
            VectorMath.map(src.value + p * size, dst.value + p * size, size) { $0 * v }
        }
        withExtendedLifetime((x, gate)) {}
        // Each operand is kept only when the other one needs its gradient.
        let keptInput = gate.requiresGradient ? x.value : nil
        let keptGate = x.requiresGradient ? gate.value : nil
        let (inShape, gateShape) = (x.shape, gate.shape)
        return Variable.make(out, [x, gate]) { dy in
            let g = UncheckedSendable(dy.readPointer)
            var dx: Tensor?
            if let keptGate {
                let grad = Tensor(uninitializedShape: inShape)
                let d = UncheckedSendable(grad.mutablePointer), s = UncheckedSendable(keptGate.readPointer)
                forEachChannelPlane(inShape) { p, _ in
                    let v = SIMD8<Float>(repeating: s.value[p])
                    VectorMath.map(g.value + p * size, d.value + p * size, size) { $0 * v }
                }
                withExtendedLifetime(keptGate) {}
                dx = grad
            }
            var dGate: Tensor?
            if let keptInput {
                let grad = Tensor(uninitializedShape: gateShape)
                let d = UncheckedSendable(grad.mutablePointer), xs = UncheckedSendable(keptInput.readPointer)
                forEachChannelPlane(inShape) { p, _ in
                    d.value[p] = Float(VectorMath.dot(g.value + p * size, xs.value + p * size, size))
                }
                withExtendedLifetime(keptInput) {}
                dGate = grad
            }
            withExtendedLifetime(dy) {}
            return [dx, dGate]
        }
    }
}
