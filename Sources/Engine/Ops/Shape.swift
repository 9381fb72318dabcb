extension Ops {
    /// Same elements, another shape (no copy).
    public static func reshape(_ x: Variable, _ shape: [Int]) -> Variable {
        precondition(Tensor.elementCount(shape) == x.value.count, "reshape: \(x.shape) cannot become \(shape)")
        let inShape = x.shape
        return Variable.make(x.value.reshaped(shape), [x]) { dy in [dy.reshaped(inShape)] }
    }

    /// Reorders axes: output axis i is input axis `order[i]` (PyTorch `permute`).
    public static func permute(_ x: Variable, _ order: [Int]) -> Variable {
        precondition(order.sorted() == Array(0..<x.rank), "permute: \(order) is not a permutation of \(x.rank) axes")
        let out = permuteTensor(x.value, order)
        var inverse = [Int](repeating: 0, count: order.count)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Variable.make(out, [x]) { dy in [permuteTensor(dy, inverse)] }
    }

    /// Swaps two axes.
    public static func transpose(_ x: Variable, _ a: Int, _ b: Int) -> Variable {
        var order = Array(0..<x.rank)
        order.swapAt(normalizedAxis(a, rank: x.rank), normalizedAxis(b, rank: x.rank))
        return permute(x, order)
    }

    static func permuteTensor(_ x: Tensor, _ order: [Int]) -> Tensor {
        let rank = x.rank
        let outShape = order.map { x.shape[$0] }
        if order == Array(0..<rank) { return x }
        let inStrides = contiguousStrides(x.shape)
        let srcStrides = order.map { inStrides[$0] }  // input stride for each output axis
        let out = Tensor(uninitializedShape: outShape)
        guard out.count > 0 else { return out }
        let inner = outShape[rank - 1], innerStride = srcStrides[rank - 1]
        let outer = out.count / inner
        let src = UncheckedSendable(x.readPointer), dst = UncheckedSendable(out.mutablePointer)
        Parallel.forRanges(outer, grain: max(1, 16384 / max(inner, 1))) { range in
            var idx = [Int](repeating: 0, count: rank)
            // Decompose the first row index into output coordinates (all but the last axis).
            var rem = range.lowerBound
            for a in stride(from: rank - 2, through: 0, by: -1) { idx[a] = rem % outShape[a]; rem /= outShape[a] }
            for row in range {
                var off = 0
                for a in 0..<(rank - 1) { off += idx[a] * srcStrides[a] }
                let s = src.value + off, d = dst.value + row * inner
                if innerStride == 1 { d.update(from: s, count: inner) } else { for j in 0..<inner { d[j] = s[j * innerStride] } }
                var a = rank - 2
                while a >= 0 {
                    idx[a] += 1
                    if idx[a] < outShape[a] { break }
                    idx[a] = 0
                    a -= 1
                }
            }
        }
        withExtendedLifetime(x) {}
        return out
    }

    /// Elements `range` along `axis`.
    public static func slice(_ x: Variable, axis: Int, _ range: Range<Int>) -> Variable {
        let ax = normalizedAxis(axis, rank: x.rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= x.shape[ax], "slice: \(range) out of 0..<\(x.shape[ax])")
        let inShape = x.shape
        let out = sliceTensor(x.value, axis: ax, range)
        return Variable.make(out, [x]) { dy in
            let dx = Tensor.zeros(inShape)
            copyBlock(dy, into: dx, axis: ax, offset: range.lowerBound)
            return [dx]
        }
    }

    /// Concatenation along `axis`.
    public static func concat(_ xs: [Variable], axis: Int) -> Variable {
        precondition(!xs.isEmpty, "concat of nothing")
        let ax = normalizedAxis(axis, rank: xs[0].rank)
        var outShape = xs[0].shape
        outShape[ax] = 0
        for x in xs {
            var s = x.shape
            s[ax] = 0
            var o = outShape
            o[ax] = 0
            precondition(s == o, "concat: shapes \(xs.map(\.shape)) differ outside axis \(ax)")
            outShape[ax] += x.shape[ax]
        }
        let out = Tensor(uninitializedShape: outShape)
        var offsets: [Int] = []
        var offset = 0
        for x in xs {
            offsets.append(offset)
            copyBlock(x.value, into: out, axis: ax, offset: offset)
            offset += x.shape[ax]
        }
        let sizes = xs.map { $0.shape[ax] }
        let needs = xs.map(\.requiresGradient)
        return Variable.make(out, xs) { dy in
            (0..<sizes.count).map { i in needs[i] ? sliceTensor(dy, axis: ax, offsets[i]..<(offsets[i] + sizes[i])) : nil }
        }
    }

    static func sliceTensor(_ x: Tensor, axis: Int, _ range: Range<Int>) -> Tensor {
        var outShape = x.shape
        outShape[axis] = range.count
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let out = Tensor(uninitializedShape: outShape)
        let src = x.readPointer, dst = out.mutablePointer
        let block = range.count * inner
        for o in 0..<outer {
            Parallel.copy(dst + o * block, from: src + (o * x.shape[axis] + range.lowerBound) * inner, count: block)
        }
        withExtendedLifetime(x) {}
        return out
    }

    /// Copies `part` into `whole` at `offset` along `axis` (other axes equal).
    static func copyBlock(_ part: Tensor, into whole: Tensor, axis: Int, offset: Int) {
        let outer = whole.shape[..<axis].reduce(1, *)
        let inner = whole.shape[(axis + 1)...].reduce(1, *)
        let block = part.shape[axis] * inner
        let src = part.readPointer, dst = whole.storage.pointer
        for o in 0..<outer {
            Parallel.copy(dst + (o * whole.shape[axis] + offset) * inner, from: src + o * block, count: block)
        }
        withExtendedLifetime((part, whole)) {}
    }
}
