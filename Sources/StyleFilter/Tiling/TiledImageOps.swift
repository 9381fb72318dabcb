import Engine

/// The padded-axis fold and cropping of `[1, 3, H, W]` tensors.
enum TiledImageOps {
    /// The source index of padded index `i` on an axis of `n` pixels: i itself inside, folded back
    /// half-sample symmetrically beyond (n − 1 − ((i − n) mod 2n)).
    @inline(__always)
    static func fold(_ i: Int, _ n: Int) -> Int {
        let m = i % (2 * n)
        return m < n ? m : 2 * n - 1 - m
    }

    /// The `width x height` region at (x, y) of `buffer` (`[1, 3, H, W]`), as `[1, 3, height, width]`.
    static func crop(_ buffer: Tensor, x: Int, y: Int, width: Int, height: Int) -> Tensor {
        let bh = buffer.shape[2], bw = buffer.shape[3]
        precondition(x >= 0 && y >= 0 && x + width <= bw && y + height <= bh, "crop outside the buffer")
        if x == 0 && y == 0 && width == bw && height == bh { return buffer }
        var out = Tensor(uninitializedShape: [1, 3, height, width])
        buffer.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for v in 0..<height {
                        let s = (c * bh + y + v) * bw + x, d = (c * height + v) * width
                        for u in 0..<width { dst[d + u] = src[s + u] }
                    }
                }
            }
        }
        return out
    }
}
