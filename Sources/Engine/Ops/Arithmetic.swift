extension Ops {
    /// NumPy-style broadcast shape of two shapes.
    static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        return zip(pa, pb).map { x, y in
            precondition(x == y || x == 1 || y == 1, "shapes \(a) and \(b) cannot be broadcast together")
            return max(x, y)
        }
    }

    /// Strides of `shape` read as `outShape` (0 on broadcast axes).
    static func broadcastStrides(_ shape: [Int], to outShape: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: outShape.count - shape.count) + shape
        let strides = contiguousStrides(padded)
        return (0..<outShape.count).map { padded[$0] == 1 && outShape[$0] != 1 ? 0 : strides[$0] }
    }

    /// Element-wise `f(a, b)` with broadcasting.
    static func broadcastBinary(
        _ a: Tensor, _ b: Tensor, _ f: @escaping (SIMD8<Float>, SIMD8<Float>) -> SIMD8<Float>
    ) -> Tensor {
        if a.shape == b.shape { return mapTensors(a, b, f) }
        let outShape = broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitializedShape: outShape)
        guard out.count > 0 else { return out }
        let rank = outShape.count
        let sa = broadcastStrides(a.shape, to: outShape), sb = broadcastStrides(b.shape, to: outShape)
        let inner = outShape[rank - 1]
        let outer = out.count / inner
        let pa = a.readPointer, pb = b.readPointer, po = out.mutablePointer
        var bufA = [Float](repeating: 0, count: inner), bufB = [Float](repeating: 0, count: inner)
        var idx = [Int](repeating: 0, count: rank)
        for row in 0..<outer {
            var offA = 0, offB = 0
            for ax in 0..<(rank - 1) { offA += idx[ax] * sa[ax]; offB += idx[ax] * sb[ax] }
            for j in 0..<inner { bufA[j] = pa[offA + j * sa[rank - 1]]; bufB[j] = pb[offB + j * sb[rank - 1]] }
            VectorMath.map2(bufA, bufB, po + row * inner, inner, f)
            var ax = rank - 2
            while ax >= 0 {
                idx[ax] += 1
                if idx[ax] < outShape[ax] { break }
                idx[ax] = 0
                ax -= 1
            }
        }
        withExtendedLifetime((a, b)) {}
        return out
    }

    /// Sums `g` over the axes along which `shape` was broadcast, giving a tensor of `shape`.
    static func reduceToShape(_ g: Tensor, _ shape: [Int]) -> Tensor {
        if g.shape == shape { return g }
        let out = Tensor.zeros(shape)
        let strides = broadcastStrides(shape, to: g.shape)
        let rank = g.rank
        let pg = g.readPointer, po = out.mutablePointer
        var idx = [Int](repeating: 0, count: rank)
        for i in 0..<g.count {
            var off = 0
            for ax in 0..<rank { off += idx[ax] * strides[ax] }
            po[off] += pg[i]
            var ax = rank - 1
            while ax >= 0 {
                idx[ax] += 1
                if idx[ax] < g.shape[ax] { break }
                idx[ax] = 0
                ax -= 1
            }
        }
        withExtendedLifetime(g) {}
        return out
    }

    /// `a + b` with broadcasting.
    public static func add(_ a: Variable, _ b: Variable) -> Variable {
        let out = broadcastBinary(a.value, b.value) { $0 + $1 }
        let (sa, sb, na, nb) = (a.shape, b.shape, a.requiresGradient, b.requiresGradient)
        return Variable.make(out, [a, b]) { dy in
            [na ? reduceToShape(dy, sa) : nil, nb ? reduceToShape(dy, sb) : nil]
        }
    }

    /// `a - b` with broadcasting.
    public static func sub(_ a: Variable, _ b: Variable) -> Variable {
        let out = broadcastBinary(a.value, b.value) { $0 - $1 }
        let (sa, sb, na, nb) = (a.shape, b.shape, a.requiresGradient, b.requiresGradient)
        return Variable.make(out, [a, b]) { dy in
            [na ? reduceToShape(dy, sa) : nil, nb ? reduceToShape(mapTensor(dy) { -$0 }, sb) : nil]
        }
    }

    /// `a * b` (element-wise) with broadcasting. Keeps each operand only if the other needs a gradient.
    public static func mul(_ a: Variable, _ b: Variable) -> Variable {
        let out = broadcastBinary(a.value, b.value) { $0 * $1 }
        let (sa, sb) = (a.shape, b.shape)
        let keepA = b.requiresGradient ? a.value : nil
        let keepB = a.requiresGradient ? b.value : nil
        return Variable.make(out, [a, b]) { dy in
            [keepB.map { reduceToShape(broadcastBinary(dy, $0) { $0 * $1 }, sa) },
             keepA.map { reduceToShape(broadcastBinary(dy, $0) { $0 * $1 }, sb) }]
        }
    }

    /// `x * factor`.
    public static func scale(_ x: Variable, _ factor: Float) -> Variable {
        let out = mapTensor(x.value) { $0 * factor }
        return Variable.make(out, [x]) { dy in [mapTensor(dy) { $0 * factor }] }
    }

    /// `x * (1 + scale) + shift` with broadcasting (ADM's scale-shift norm, for differentiable
    /// scale/shift; `groupNorm(scaleShift:)` is the fused constant-scale form).
    public static func scaleShift(_ x: Variable, scale: Variable, shift: Variable) -> Variable {
        let one = Variable(Tensor(shape: [1], repeating: 1))
        return add(mul(x, add(scale, one)), shift)
    }
}

extension Variable {
    /// Broadcasting sum (`Ops.add`).
    public static func + (a: Variable, b: Variable) -> Variable { Ops.add(a, b) }
    /// Broadcasting difference (`Ops.sub`).
    public static func - (a: Variable, b: Variable) -> Variable { Ops.sub(a, b) }
    /// Broadcasting element-wise product (`Ops.mul`).
    public static func * (a: Variable, b: Variable) -> Variable { Ops.mul(a, b) }
    /// Product with a scalar (`Ops.scale`).
    public static func * (a: Variable, b: Float) -> Variable { Ops.scale(a, b) }
}
