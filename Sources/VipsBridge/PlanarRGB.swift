/// An RGB image as three planes of float32 samples (R plane, then G, then B; each row-major), nominally
/// in 0...1. This is the only pixel form that crosses from libvips into the engine.
public struct PlanarRGB: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `3 × height × width` samples, channel-major (CHW).
    public var samples: [Float]

    public init(width: Int, height: Int, samples: [Float]) {
        precondition(width > 0 && height > 0, "image must not be empty")
        precondition(samples.count == 3 * width * height, "expected 3 × \(width) × \(height) samples")
        self.width = width
        self.height = height
        self.samples = samples
    }

    /// Sample of channel `channel` (0 R, 1 G, 2 B) at column `x`, row `y`.
    public subscript(channel: Int, y: Int, x: Int) -> Float {
        get { samples[(channel * height + y) * width + x] }
        set { samples[(channel * height + y) * width + x] = newValue }
    }
}

/// Integer sample depth of an image going into or coming out of ``PlanarRGB``.
public enum SampleDepth: Sendable {
    case eight, sixteen

    /// Largest sample value: 255 or 65535.
    public var maximum: Float { self == .eight ? 255 : 65535 }
}

extension VImage {
    /// The image at 16 bits per sample: 0...255 levels become level · 257 (255 → 65535 exactly), tagged
    /// rgb16 or grey16; a ushort image is returned as it is.
    public func widenedToSixteenBit() throws(VipsError) -> VImage {
        if format == .ushort { return self }
        return try linear([257], [0]).rint().cast(.ushort).withInterpretation(bands <= 2 ? "grey16" : "rgb16")
    }

    /// Converts a 3-band 8-bit sRGB (`uchar`) or 16-bit RGB (`ushort`) image into planes of
    /// `sample / maximum`. Other layouts must be normalised first (``PlanarRGB`` has no alpha, no CMYK).
    public func planarRGB() throws(VipsError) -> PlanarRGB {
        guard bands == 3, format == .uchar || format == .ushort else {
            throw VipsError("planar RGB needs a 3-band uchar or ushort image, got \(bands) bands of \(format.nickname)")
        }
        let plane = width * height
        var samples = [Float](repeating: 0, count: 3 * plane)
        if format == .uchar {
            try withPixels(of: UInt8.self) { pixels in
                Self.deinterleave(pixels, into: &samples, plane: plane, maximum: 255)
            }
        } else {
            try withPixels(of: UInt16.self) { pixels in
                Self.deinterleave(pixels, into: &samples, plane: plane, maximum: 65535)
            }
        }
        return PlanarRGB(width: width, height: height, samples: samples)
    }

    /// The `width x height` rectangle at (`left`, `top`) as planes, like ``planarRGB()``, computed
    /// through a libvips region: only that part of the pipeline is evaluated, so a tiled reader never
    /// holds more than its tile.
    public func planarRGB(left: Int, top: Int, width: Int, height: Int) throws(VipsError) -> PlanarRGB {
        guard bands == 3, format == .uchar || format == .ushort else {
            throw VipsError("planar RGB needs a 3-band uchar or ushort image, got \(bands) bands of \(format.nickname)")
        }
        let plane = width * height
        var samples = [Float](repeating: 0, count: 3 * plane)
        if format == .uchar {
            let pixels = try regionPixels(of: UInt8.self, left: left, top: top, width: width, height: height)
            pixels.withUnsafeBufferPointer { Self.deinterleave($0, into: &samples, plane: plane, maximum: 255) }
        } else {
            let pixels = try regionPixels(of: UInt16.self, left: left, top: top, width: width, height: height)
            pixels.withUnsafeBufferPointer { Self.deinterleave($0, into: &samples, plane: plane, maximum: 65535) }
        }
        return PlanarRGB(width: width, height: height, samples: samples)
    }

    private static func deinterleave<T: BinaryInteger>(
        _ pixels: UnsafeBufferPointer<T>, into samples: inout [Float], plane: Int, maximum: Float
    ) {
        // Divide (not multiply by a reciprocal) so each sample is the correctly rounded level / maximum.
        samples.withUnsafeMutableBufferPointer { out in
            for index in 0..<plane {
                out[index] = Float(pixels[3 * index]) / maximum
                out[plane + index] = Float(pixels[3 * index + 1]) / maximum
                out[2 * plane + index] = Float(pixels[3 * index + 2]) / maximum
            }
        }
    }

    /// Builds an sRGB (8-bit) or RGB16 (16-bit) image from planes: each sample is clamped to 0...1,
    /// scaled to the depth's maximum and rounded to nearest (ties to even); casting alone would truncate.
    public static func fromPlanarRGB(_ planar: PlanarRGB, depth: SampleDepth) throws(VipsError) -> VImage {
        let plane = planar.width * planar.height
        let image: VImage
        switch depth {
        case .eight:
            let pixels: [UInt8] = interleave(planar, plane: plane, maximum: 255)
            image = try pixels.withUnsafeBufferPointer { (buffer) throws(VipsError) -> VImage in
                try VImage.fromPixels(buffer, width: planar.width, height: planar.height, bands: 3, format: .uchar)
            }
        case .sixteen:
            let pixels: [UInt16] = interleave(planar, plane: plane, maximum: 65535)
            image = try pixels.withUnsafeBufferPointer { (buffer) throws(VipsError) -> VImage in
                try VImage.fromPixels(buffer, width: planar.width, height: planar.height, bands: 3, format: .ushort)
            }
        }
        return try image.withInterpretation(depth == .eight ? "srgb" : "rgb16")
    }

    private static func interleave<T: FixedWidthInteger>(_ planar: PlanarRGB, plane: Int, maximum: Float) -> [T] {
        [T](unsafeUninitializedCapacity: 3 * plane) { out, count in
            planar.samples.withUnsafeBufferPointer { samples in
                for index in 0..<plane {
                    for channel in 0..<3 {
                        let value = samples[channel * plane + index]
                        // NaN maps to 0 rather than trapping in the integer conversion.
                        let clamped = value.isNaN ? 0 : min(max(value, 0), 1)
                        out[3 * index + channel] = T((clamped * maximum).rounded(.toNearestOrEven))
                    }
                }
            }
            count = 3 * plane
        }
    }
}
