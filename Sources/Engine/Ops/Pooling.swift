extension Ops {
    /// The mean of each `[H, W]` plane of `x [B, C, H, W]`, as `[B, C, 1, 1]` (PyTorch `AdaptiveAvgPool2d(1)`).
    public static func globalAveragePool(_ x: Variable) -> Variable {
        precondition(x.rank == 4 && x.shape[2] * x.shape[3] > 0, "globalAveragePool expects a non-empty [B, C, H, W], got \(x.shape)")
        let size = x.shape[2] * x.shape[3]
        let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], 1, 1])
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer)
        forEachChannelPlane(x.shape) { p, _ in
            dst.value[p] = Float(VectorMath.sum(src.value + p * size, size) / Double(size))
        }
        withExtendedLifetime(x) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: inShape)
            let g = UncheckedSendable(dy.readPointer), d = UncheckedSendable(dx.mutablePointer)
            let inverse = 1 / Float(size)
            forEachChannelPlane(inShape) { p, _ in
                (d.value + p * size).update(repeating: g.value[p] * inverse, count: size)
            }
            withExtendedLifetime(dy) {}
            return [dx]
        }
    }

    /// Every `stride`-th row and column of `x [B, C, H, W]`, starting at 0: `[B, C, ⌊(H−1)/s⌋+1, ⌊(W−1)/s⌋+1]`
    /// (PyTorch `MaxPool2d(kernel_size: 1, stride: s)`, which ArcFace's identity shortcuts use).
    public static func subsample(_ x: Variable, stride: Int) -> Variable {
        precondition(x.rank == 4 && stride >= 1 && x.shape[2] > 0 && x.shape[3] > 0, "subsample expects a non-empty [B, C, H, W] and a positive stride, got \(x.shape), \(stride)")
        if stride == 1 { return x }
        let (h, w) = (x.shape[2], x.shape[3])
        let (oh, ow) = ((h - 1) / stride + 1, (w - 1) / stride + 1)
        let outShape = [x.shape[0], x.shape[1], oh, ow]
        let out = Tensor(uninitializedShape: outShape)
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer)
        forEachChannelPlane(outShape) { p, _ in
            let s = src.value + p * h * w, d = dst.value + p * oh * ow
            for i in 0..<oh {
                let row = s + i * stride * w
                for j in 0..<ow { d[i * ow + j] = row[j * stride] }
            }
        }
        withExtendedLifetime(x) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            let dx = Tensor.zeros(inShape)
            let g = UncheckedSendable(dy.readPointer), d = UncheckedSendable(dx.mutablePointer)
            forEachChannelPlane(outShape) { p, _ in
                let s = g.value + p * oh * ow, plane = d.value + p * h * w
                for i in 0..<oh {
                    let row = plane + i * stride * w
                    for j in 0..<ow { row[j * stride] = s[i * ow + j] }
                }
            }
            withExtendedLifetime(dy) {}
            return [dx]
        }
    }

    /// PyTorch `AdaptiveAvgPool2d((height, width))` of `x [B, C, H, W]` (`SparsePlaneMap.adaptiveAverage`).
    public static func adaptiveAveragePool2d(_ x: Variable, height: Int, width: Int) -> Variable {
        precondition(x.rank == 4, "adaptiveAveragePool2d expects [B, C, H, W], got \(x.shape)")
        return resample(x, .adaptiveAverage(inputHeight: x.shape[2], inputWidth: x.shape[3], outputHeight: height, outputWidth: width))
    }
}

extension SparsePlaneMap {
    /// PyTorch's adaptive average pooling of the crop `crop` (default: the whole plane) to `outputHeight x
    /// outputWidth`: output row i averages input rows ⌊i·In/Out⌋ ..< ⌈(i+1)·In/Out⌉ (windows may overlap and
    /// differ in size), columns likewise. A crop costs nothing extra: only its pixels get taps.
    public static func adaptiveAverage(
        inputHeight: Int, inputWidth: Int, crop: (top: Int, left: Int, height: Int, width: Int)? = nil,
        outputHeight: Int, outputWidth: Int
    ) -> SparsePlaneMap {
        let c = checkedCrop(crop, inputHeight: inputHeight, inputWidth: inputWidth, "adaptiveAverage")
        precondition(outputHeight > 0 && outputWidth > 0, "adaptiveAverage: empty output \(outputHeight)x\(outputWidth)")
        func windows(_ inSize: Int, _ outSize: Int) -> [Range<Int>] {
            (0..<outSize).map { i in (i * inSize / outSize)..<(((i + 1) * inSize + outSize - 1) / outSize) }
        }
        let rows = windows(c.height, outputHeight), cols = windows(c.width, outputWidth)
        let rowTaps = rows.map(\.count).max() ?? 0, colTaps = cols.map(\.count).max() ?? 0
        let taps = rowTaps * colTaps
        var indices = [Int32](repeating: -1, count: outputHeight * outputWidth * taps)
        var weights = [Float](repeating: 0, count: indices.count)
        for (i, r) in rows.enumerated() {
            for (j, q) in cols.enumerated() {
                let weight = 1 / Float(r.count * q.count)
                var k = (i * outputWidth + j) * taps
                for y in r {
                    for x in q {
                        indices[k] = Int32((c.top + y) * inputWidth + c.left + x)
                        weights[k] = weight
                        k += 1
                    }
                }
            }
        }
        return SparsePlaneMap(inputHeight: inputHeight, inputWidth: inputWidth, outputHeight: outputHeight, outputWidth: outputWidth,
            taps: taps, indices: indices, weights: weights)
    }
}
