import Engine
@testable import StyleFilter

/// The reference for padded reads: a whole tensor mirror-padded with ``TiledImageOps/fold(_:_:)``.
extension TiledImageOps {
    /// `image` (`[1, 3, h, w]`) mirror-padded at the right and bottom to `width x height` (each at least
    /// as large): index i ≥ n reads n − 1 − ((i − n) mod 2n) folded back (half-sample symmetric), so a
    /// 1-pixel strip is replicated.
    static func mirrorPadded(_ image: Tensor, width: Int, height: Int) -> Tensor {
        let h = image.shape[2], w = image.shape[3]
        precondition(width >= w && height >= h, "padding cannot shrink")
        if width == w && height == h { return image }
        var out = Tensor(uninitializedShape: [1, 3, height, width])
        image.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for y in 0..<height {
                        let sy = fold(y, h)
                        for x in 0..<width { dst[(c * height + y) * width + x] = src[(c * h + sy) * w + fold(x, w)] }
                    }
                }
            }
        }
        return out
    }

}
