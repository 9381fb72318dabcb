#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed linear map from one `inputHeight x inputWidth` plane to an `outputHeight x outputWidth`
/// plane: every output pixel is a weighted sum of up to `taps` input pixels (index −1 = no tap).
///
/// Geometric transforms of a whole image that do not depend on its values (a bilinear resize of a
/// crop, a nearest-neighbour rotation with zero fill, a flip, or any composition of them) are all
/// such maps; `Ops.resample` applies one to every plane of `[B, C, H, W]` with its adjoint as
/// gradient.
public struct SparsePlaneMap: Sendable, Equatable {
    public let inputHeight: Int, inputWidth: Int
    public let outputHeight: Int, outputWidth: Int
    /// Taps per output pixel.
    public let taps: Int
    /// `outputHeight * outputWidth * taps` row-major input indices (−1 for an unused tap).
    public let indices: [Int32]
    /// The matching weights.
    public let weights: [Float]

    /// A map from explicit taps; `indices`/`weights` hold `taps` entries per output pixel.
    public init(inputHeight: Int, inputWidth: Int, outputHeight: Int, outputWidth: Int, taps: Int, indices: [Int32], weights: [Float]) {
        precondition(indices.count == outputHeight * outputWidth * taps && weights.count == indices.count,
            "SparsePlaneMap: \(indices.count) indices / \(weights.count) weights for \(outputHeight)x\(outputWidth)x\(taps)")
        precondition(indices.allSatisfy { $0 >= -1 && Int($0) < inputHeight * inputWidth }, "SparsePlaneMap: tap index out of range")
        self.inputHeight = inputHeight
        self.inputWidth = inputWidth
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
        self.taps = taps
        self.indices = indices
        self.weights = weights
    }

    /// PyTorch's bilinear `interpolate(size:, align_corners: false)` without antialiasing (the
    /// tensor path of torchvision's `Resize`/`RandomResizedCrop`), applied to the crop
    /// `rows x cols` of the input: `src = (dst + 0.5)·in/out − 0.5`, clamped below at 0, in float32.
    public static func bilinear(
        inputHeight: Int, inputWidth: Int, crop: (top: Int, left: Int, height: Int, width: Int)? = nil,
        outputHeight: Int, outputWidth: Int
    ) -> SparsePlaneMap {
        let c = checkedCrop(crop, inputHeight: inputHeight, inputWidth: inputWidth, "bilinear")
        let rows = linearTaps(inSize: c.height, outSize: outputHeight)
        let cols = linearTaps(inSize: c.width, outSize: outputWidth)
        var indices = [Int32](), weights = [Float]()
        indices.reserveCapacity(outputHeight * outputWidth * 4)
        weights.reserveCapacity(outputHeight * outputWidth * 4)
        for i in 0..<outputHeight {
            for j in 0..<outputWidth {
                for (r, a) in [(rows[i].0, rows[i].2), (rows[i].1, rows[i].3)] {
                    for (q, b) in [(cols[j].0, cols[j].2), (cols[j].1, cols[j].3)] {
                        indices.append(Int32((c.top + r) * inputWidth + c.left + q))
                        weights.append(a * b)
                    }
                }
            }
        }
        return SparsePlaneMap(inputHeight: inputHeight, inputWidth: inputWidth, outputHeight: outputHeight, outputWidth: outputWidth,
            taps: 4, indices: indices, weights: weights)
    }

    /// `crop`, or the whole `inputHeight x inputWidth` plane when nil; traps (naming `caller`) unless it is a
    /// non-empty rectangle inside the plane.
    static func checkedCrop(
        _ crop: (top: Int, left: Int, height: Int, width: Int)?, inputHeight: Int, inputWidth: Int, _ caller: String
    ) -> (top: Int, left: Int, height: Int, width: Int) {
        let c = crop ?? (0, 0, inputHeight, inputWidth)
        precondition(c.top >= 0 && c.left >= 0 && c.height > 0 && c.width > 0 && c.top + c.height <= inputHeight && c.left + c.width <= inputWidth,
            "\(caller): crop \(c) outside \(inputHeight)x\(inputWidth)")
        return c
    }

    /// Mirror left-right.
    public static func horizontalFlip(height: Int, width: Int) -> SparsePlaneMap {
        var indices = [Int32]()
        for i in 0..<height { for j in 0..<width { indices.append(Int32(i * width + (width - 1 - j))) } }
        return SparsePlaneMap(inputHeight: height, inputWidth: width, outputHeight: height, outputWidth: width,
            taps: 1, indices: indices, weights: [Float](repeating: 1, count: indices.count))
    }

    /// `other` applied after `self` (so `a.then(b)` maps like `b(a(x))`). Exact when `self` has a
    /// single unit tap per pixel (a gather such as a rotation or flip); otherwise taps multiply.
    public func then(_ other: SparsePlaneMap) -> SparsePlaneMap {
        precondition(other.inputHeight == outputHeight && other.inputWidth == outputWidth, "then: plane sizes do not chain")
        let n = other.outputHeight * other.outputWidth
        let t = other.taps * taps
        var idx = [Int32](repeating: -1, count: n * t), w = [Float](repeating: 0, count: n * t)
        for p in 0..<n {
            var k = 0
            for a in 0..<other.taps {
                let mid = other.indices[p * other.taps + a], wa = other.weights[p * other.taps + a]
                for b in 0..<taps {
                    defer { k += 1 }
                    guard mid >= 0 else { continue }
                    let src = indices[Int(mid) * taps + b]
                    guard src >= 0 else { continue }
                    idx[p * t + k] = src
                    w[p * t + k] = wa * weights[Int(mid) * taps + b]
                }
            }
        }
        return SparsePlaneMap(inputHeight: inputHeight, inputWidth: inputWidth, outputHeight: other.outputHeight,
            outputWidth: other.outputWidth, taps: t, indices: idx, weights: w)
    }

    /// (index0, index1, weight0, weight1) per output position, as PyTorch's CPU bilinear kernel.
    static func linearTaps(inSize: Int, outSize: Int) -> [(Int, Int, Float, Float)] {
        let scale = Float(inSize) / Float(outSize)
        return (0..<outSize).map { d in
            let src = max(scale * (Float(d) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), inSize - 1)
            let i1 = i0 < inSize - 1 ? i0 + 1 : i0
            let l1 = src - Float(i0)
            return (i0, i1, 1 - l1, l1)
        }
    }
}

extension Ops {
    /// Applies `map` to every plane of `x [B, C, H, W]`, giving `[B, C, outH, outW]`; the gradient is
    /// the map's adjoint (a scatter-add).
    public static func resample(_ x: Variable, _ map: SparsePlaneMap) -> Variable {
        precondition(x.rank == 4 && x.shape[2] == map.inputHeight && x.shape[3] == map.inputWidth,
            "resample: input \(x.shape) does not match the map's \(map.inputHeight)x\(map.inputWidth)")
        let planes = x.shape[0] * x.shape[1]
        let (inCount, outCount, taps) = (map.inputHeight * map.inputWidth, map.outputHeight * map.outputWidth, map.taps)
        let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], map.outputHeight, map.outputWidth])
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer)
        map.indices.withUnsafeBufferPointer { ib in
            map.weights.withUnsafeBufferPointer { wb in
                let ix = UncheckedSendable(ib.baseAddress!), wx = UncheckedSendable(wb.baseAddress!)
                Parallel.forEach(planes, grain: max(1, 16384 / max(outCount, 1))) { p in
                    let s = src.value + p * inCount, d = dst.value + p * outCount
                    for o in 0..<outCount {
                        var acc: Float = 0
                        for k in 0..<taps {
                            let i = ix.value[o * taps + k]
                            if i >= 0 { acc += wx.value[o * taps + k] * s[Int(i)] }
                        }
                        d[o] = acc
                    }
                }
            }
        }
        withExtendedLifetime(x) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            let dx = Tensor.zeros(inShape)
            let g = UncheckedSendable(dy.readPointer), o = UncheckedSendable(dx.mutablePointer)
            map.indices.withUnsafeBufferPointer { ib in
                map.weights.withUnsafeBufferPointer { wb in
                    let ix = UncheckedSendable(ib.baseAddress!), wx = UncheckedSendable(wb.baseAddress!)
                    Parallel.forEach(planes, grain: max(1, 16384 / max(outCount, 1))) { p in
                        let gp = g.value + p * outCount, d = o.value + p * inCount
                        for q in 0..<outCount {
                            let v = gp[q]
                            for k in 0..<taps {
                                let i = ix.value[q * taps + k]
                                if i >= 0 { d[Int(i)] += wx.value[q * taps + k] * v }
                            }
                        }
                    }
                }
            }
            withExtendedLifetime(dy) {}
            return [dx]
        }
    }
}
