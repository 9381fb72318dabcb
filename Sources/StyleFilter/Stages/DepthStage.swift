import VipsBridge

/// `depth 8|16|float`: change bits per sample with correct rounding (libvips' cast alone truncates).
public struct DepthStage: Stage {
    public enum Depth: String, CaseIterable, Sendable {
        case eight = "8", sixteen = "16", float
    }

    public var depth: Depth

    public init(_ depth: Depth) { self.depth = depth }

    public var name: String { "depth" }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        try wrap(.failure, "depth") { () throws(VipsError) in try convert(image) }
    }

    private func convert(_ image: VImage) throws(VipsError) -> VImage {
        let isSixteen = image.format == .ushort || image.format == .short
        let isGrey = image.bands <= 2
        switch depth {
        case .eight:
            if image.format == .uchar { return image }
            // 16-bit: 65535 maps to 255; float (libvips convention: 0-255 range): just round.
            let scaled = isSixteen ? try image.linear([255.0 / 65535.0], [0]) : image
            return try scaled.rint().cast(.uchar).withInterpretation(isGrey ? "b-w" : "srgb")
        case .sixteen:
            return try image.widenedToSixteenBit()
        case .float:
            if image.format == .float { return image }
            let scaled = isSixteen ? try image.linear([255.0 / 65535.0], [0]) : try image.cast(.float)
            return try scaled.withInterpretation(isGrey ? "b-w" : "srgb")
        }
    }
}
