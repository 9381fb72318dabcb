import Engine
import VipsBridge

/// Where a tiled run reads an image from, one rectangle at a time: the source (structure losses,
/// DINO references) and the image the run starts from (the source, or detail mode's upscaled
/// translation). Rectangles are in padded coordinates: past the right and bottom edges the image is
/// mirrored half-sample symmetrically (``TiledImageOps/fold(_:_:)``), so an axis shorter than a tile
/// still gives full tiles.
package protocol TileSource {
    /// The real image size (before padding).
    var width: Int { get }
    var height: Int { get }
    /// The `w x h` rectangle at (`x`, `y`) as a `[1, 3, h, w]` tensor in the model's [−1, 1] range.
    func region(x: Int, y: Int, width w: Int, height h: Int) throws -> Tensor
}

/// A libvips image read through regions: only the rectangles asked for are computed, so a lazy
/// pipeline (a resize of a small image, a colour conversion) is never evaluated whole.
///
/// `width x height` may differ from the image's own size by a pixel or so (libvips rounds the sizes
/// of resizes): coordinates past the image are clamped to its last row and column.
package struct VipsTileSource: TileSource {
    package let image: VImage
    package let width: Int, height: Int

    /// `image` must be 3-band uchar or ushort sRGB.
    package init(_ image: VImage, width: Int? = nil, height: Int? = nil) {
        self.image = image
        self.width = width ?? image.width
        self.height = height ?? image.height
    }

    package func region(x: Int, y: Int, width w: Int, height h: Int) throws -> Tensor {
        Tensor(shape: [1, 3, h, w], scalars: try planes(x: x, y: y, width: w, height: h).map { $0 * 2 - 1 })
    }

    /// The rectangle as planes of [0, 1] samples (channel-major).
    func planes(x: Int, y: Int, width w: Int, height h: Int) throws -> [Float] {
        // Inside both the image and its nominal size: a plain region read.
        if x + w <= min(width, image.width) && y + h <= min(height, image.height) {
            return try image.planarRGB(left: x, top: y, width: w, height: h).samples
        }
        // Otherwise the source index of each padded column and row, and the bounding rectangle to read.
        let cols = (x..<(x + w)).map { min(TiledImageOps.fold($0, width), image.width - 1) }
        let rows = (y..<(y + h)).map { min(TiledImageOps.fold($0, height), image.height - 1) }
        let x0 = cols.min()!, x1 = cols.max()!, y0 = rows.min()!, y1 = rows.max()!
        let rw = x1 - x0 + 1, rh = y1 - y0 + 1
        let read = try image.planarRGB(left: x0, top: y0, width: rw, height: rh)
        var out = [Float](repeating: 0, count: 3 * w * h)
        read.samples.withUnsafeBufferPointer { src in
            for c in 0..<3 {
                for (v, sy) in rows.enumerated() {
                    let s = (c * rh + sy - y0) * rw - x0, d = (c * h + v) * w
                    for (u, sx) in cols.enumerated() { out[d + u] = src[s + sx] }
                }
            }
        }
        return out
    }
}

/// A `[1, 3, H, W]` tensor in [−1, 1] as a tile source (tests, benchmarks, the library's
/// ``StyleStage/process(_:context:)``).
struct TensorTileSource: TileSource {
    let tensor: Tensor
    var width: Int { tensor.shape[3] }
    var height: Int { tensor.shape[2] }

    init(_ tensor: Tensor) {
        precondition(tensor.shape.count == 4 && tensor.shape[0] == 1 && tensor.shape[1] == 3, "expected [1, 3, H, W]")
        self.tensor = tensor
    }

    func region(x: Int, y: Int, width w: Int, height h: Int) throws -> Tensor {
        var out = Tensor(uninitializedShape: [1, 3, h, w])
        let iw = width, ih = height
        tensor.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    for v in 0..<h {
                        let s = (c * ih + TiledImageOps.fold(y + v, ih)) * iw, d = (c * h + v) * w
                        for u in 0..<w { dst[d + u] = src[s + TiledImageOps.fold(x + u, iw)] }
                    }
                }
            }
        }
        return out
    }
}

/// Detail mode's starting image: the upscaled whole-mode translation plus the fine detail a
/// model-size pass cannot carry, `clamp(upscaled + source − low, 0, 1)`, where `low` is the source
/// resized to the model size and back. All three are read by region, so nothing image-sized is built.
struct DetailTileSource: TileSource {
    let upscaled: VipsTileSource, source: VipsTileSource, low: VipsTileSource
    var width: Int { source.width }
    var height: Int { source.height }

    func region(x: Int, y: Int, width w: Int, height h: Int) throws -> Tensor {
        Tensor(shape: [1, 3, h, w], scalars: try planes(x: x, y: y, width: w, height: h).map { $0 * 2 - 1 })
    }

    func planes(x: Int, y: Int, width w: Int, height h: Int) throws -> [Float] {
        let u = try upscaled.planes(x: x, y: y, width: w, height: h)
        let s = try source.planes(x: x, y: y, width: w, height: h)
        let l = try low.planes(x: x, y: y, width: w, height: h)
        var out = u
        for i in 0..<out.count { out[i] = min(max(u[i] + s[i] - l[i], 0), 1) }
        return out
    }
}
