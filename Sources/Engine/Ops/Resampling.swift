extension Ops {
    /// Nearest-neighbour 2x upsampling of `[B, C, H, W]`: `out[i, j] = in[i/2, j/2]`.
    public static func upsampleNearest2x(_ x: Variable) -> Variable {
        precondition(x.rank == 4, "upsampleNearest2x expects [B,C,H,W], got \(x.shape)")
        let (planes, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let out = Tensor(uninitializedShape: [x.shape[0], x.shape[1], 2 * h, 2 * w])
        let src = UncheckedSendable(x.value.readPointer), dst = UncheckedSendable(out.mutablePointer)
        Parallel.forEach(planes, grain: max(1, 4096 / (h * w))) { p in
            let s = src.value + p * h * w, d = dst.value + p * 4 * h * w
            for i in 0..<h {
                let row = d + 2 * i * 2 * w
                for j in 0..<w { let v = s[i * w + j]; row[2 * j] = v; row[2 * j + 1] = v }
                (row + 2 * w).update(from: row, count: 2 * w)
            }
        }
        withExtendedLifetime(x) {}
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in [sumPool2x2(dy, outShape: inShape, factor: 1)] }
    }

    /// 2x2 average pooling with stride 2 of `[B, C, H, W]` (H, W even).
    public static func avgPool2x2(_ x: Variable) -> Variable {
        precondition(x.rank == 4 && x.shape[2] % 2 == 0 && x.shape[3] % 2 == 0, "avgPool2x2 expects [B,C,H,W] with even H, W, got \(x.shape)")
        let outShape = [x.shape[0], x.shape[1], x.shape[2] / 2, x.shape[3] / 2]
        let out = sumPool2x2(x.value, outShape: outShape, factor: 0.25)
        let inShape = x.shape
        return Variable.make(out, [x]) { dy in
            let dx = Tensor(uninitializedShape: inShape)
            let (planes, h, w) = (outShape[0] * outShape[1], outShape[2], outShape[3])
            let src = UncheckedSendable(dy.readPointer), dst = UncheckedSendable(dx.mutablePointer)
            Parallel.forEach(planes, grain: max(1, 4096 / max(h * w, 1))) { p in
                let s = src.value + p * h * w, d = dst.value + p * 4 * h * w
                for i in 0..<h {
                    let row = d + 2 * i * 2 * w
                    for j in 0..<w { let v = 0.25 * s[i * w + j]; row[2 * j] = v; row[2 * j + 1] = v }
                    (row + 2 * w).update(from: row, count: 2 * w)
                }
            }
            withExtendedLifetime(dy) {}
            return [dx]
        }
    }

    /// `factor` × the sum of each 2x2 block.
    static func sumPool2x2(_ x: Tensor, outShape: [Int], factor: Float) -> Tensor {
        let out = Tensor(uninitializedShape: outShape)
        let (planes, h, w) = (outShape[0] * outShape[1], outShape[2], outShape[3])
        let src = UncheckedSendable(x.readPointer), dst = UncheckedSendable(out.mutablePointer)
        Parallel.forEach(planes, grain: max(1, 4096 / max(h * w, 1))) { p in
            let s = src.value + p * 4 * h * w, d = dst.value + p * h * w
            for i in 0..<h {
                let r0 = s + 2 * i * 2 * w, r1 = r0 + 2 * w
                for j in 0..<w { d[i * w + j] = factor * ((r0[2 * j] + r0[2 * j + 1]) + (r1[2 * j] + r1[2 * j + 1])) }
            }
        }
        withExtendedLifetime(x) {}
        return out
    }
}
