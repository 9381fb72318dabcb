import Engine
import Foundation
import VipsBridge

/// How a style run moves pixels between libvips and the model: images stay libvips images (resized by
/// libvips, 16 bits between steps so 8-bit levels survive exactly as level · 257); only the model-size
/// pictures the networks read cross into float.
enum StyleImages {
    /// Lanczos-3 resize of a 3-band 8/16-bit sRGB image to exactly `width x height`, at 16 bits. libvips
    /// rounds the sizes of a resize, so a row or column that comes out short repeats the last one and
    /// one too many is cut.
    static func resized(_ source: VImage, width: Int, height: Int) throws -> VImage {
        try wrap(.failure, "style: resize") { () throws(VipsError) in
            let image = try source.widenedToSixteenBit()
            if image.width == width && image.height == height { return image }
            let scaled = try image.resize(scale: Double(width) / Double(image.width), verticalScale: Double(height) / Double(image.height))
            if scaled.width == width && scaled.height == height { return scaled }
            return try scaled.gravity(.northWest, width: width, height: height, extend: .copy)
        }
    }

    /// A model-size image Lanczos-upscaled (16-bit) to `width x height`, lazily: read by region, only
    /// the tiles asked for are computed (past a short last row or column the reads repeat it).
    static func upscaled(_ image: VImage, width: Int, height: Int) throws -> VipsTileSource {
        try wrap(.failure, "style: resize") { () throws(VipsError) in
            let wide = try image.widenedToSixteenBit()
            let scaled = try wide.resize(scale: Double(width) / Double(wide.width), verticalScale: Double(height) / Double(wide.height))
            return VipsTileSource(scaled, width: width, height: height)
        }
    }

    /// A 3-band 8/16-bit image as the model's `[1, 3, H, W]` tensor in [−1, 1].
    static func tensor(_ image: VImage) throws -> Tensor {
        let planes = try wrap(.failure, "style: input") { () throws(VipsError) in try image.planarRGB() }
        return tensor(planes)
    }

    /// [0, 1] planes → `[1, 3, H, W]` in [−1, 1].
    static func tensor(_ p: PlanarRGB) -> Tensor {
        Tensor(shape: [1, 3, p.height, p.width], scalars: p.samples.map { $0 * 2 - 1 })
    }

    /// Interleaved 8-bit RGB bytes as an sRGB image of `width x height`.
    static func image(bytes: [UInt8], width: Int, height: Int) throws -> VImage {
        try wrap(.failure, "style: output image") { () throws(VipsError) in
            try bytes.withUnsafeBufferPointer { (buffer) throws(VipsError) -> VImage in
                try VImage.fromPixels(buffer, width: width, height: height, bands: 3, format: .uchar).withInterpretation("srgb")
            }
        }
    }

    /// A 16-bit image rounded to 8 bits (level / 257, to nearest; an 8-bit image is returned as it is).
    static func eightBit(_ image: VImage) throws -> VImage {
        guard image.format != .uchar else { return image }
        return try wrap(.failure, "style: output image") { () throws(VipsError) in
            try image.linear([1.0 / 257], [0]).rint().cast(.uchar).withInterpretation("srgb")
        }
    }

    /// Planes of [0, 1] samples as interleaved 8-bit RGB, rounded (upstream's PIL image of the resized
    /// style image).
    static func roundedBytes(_ p: PlanarRGB) -> [UInt8] {
        let plane = p.width * p.height
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for c in 0..<3 { for i in 0..<plane { out[i * 3 + c] = UInt8((min(max(p.samples[c * plane + i], 0), 1) * 255).rounded()) } }
        return out
    }

    /// Encodes `image` as PNG into `path` (the `--iterations` outputs).
    static func writePNG(_ image: VImage, to path: String) throws {
        let bytes = try wrap(.writeFailed, "style: encoding \(path)") { () throws(VipsError) in try Foreign.encode(image, suffix: ".png") }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw StyleFilterError(.cannotCreateOutput, "style: cannot write \(path)")
        }
    }
}
