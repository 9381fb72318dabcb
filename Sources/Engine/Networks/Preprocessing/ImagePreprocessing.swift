/// torchvision's tensor transforms that sit inside DiffuseIT's gradient path, differentiable w.r.t. the image.
public enum ImagePreprocessing {
    /// torchvision `Resize(size)` output size for an int `size`: the shorter side becomes `size`, the longer
    /// `⌊size · long / short⌋`; with `maxSize`, a longer side above it is capped and the shorter scaled down
    /// (`⌊maxSize · short / long⌋`).
    public static func resizedSize(height: Int, width: Int, shorterSide size: Int, maxSize: Int? = nil) -> (height: Int, width: Int) {
        let (short, long) = width <= height ? (width, height) : (height, width)
        var newShort = size, newLong = size * long / short
        if let maxSize, newLong > maxSize {
            newShort = maxSize * newShort / newLong
            newLong = maxSize
        }
        return width <= height ? (newLong, newShort) : (newShort, newLong)
    }

    /// torchvision `Resize(size, max_size:)` on a `[B, C, H, W]` tensor (bilinear, align_corners=False, no antialias).
    public static func resizeShorterSide(_ image: Variable, to size: Int, maxSize: Int? = nil) -> Variable {
        let (h, w) = resizedSize(height: image.shape[2], width: image.shape[3], shorterSide: size, maxSize: maxSize)
        return Ops.resizeBilinear(image, height: h, width: w)
    }

    /// torchvision `CenterCrop`: offsets `round((H − h) / 2)`, `round((W − w) / 2)` with Python's
    /// round-half-to-even. The crop must fit inside the image.
    public static func centerCrop(_ image: Variable, height: Int, width: Int) -> Variable {
        let (H, W) = (image.shape[2], image.shape[3])
        precondition(height <= H && width <= W, "centerCrop: \(height)x\(width) does not fit in \(H)x\(W)")
        let top = Int((Double(H - height) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(W - width) / 2).rounded(.toNearestOrEven))
        return Ops.slice(Ops.slice(image, axis: 2, top..<(top + height)), axis: 3, left..<(left + width))
    }
}
