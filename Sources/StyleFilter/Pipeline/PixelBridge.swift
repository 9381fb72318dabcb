import VipsBridge

/// Converts between a pipeline image and ``PlanarRGB`` around a ``PixelStage``.
enum PixelBridge {
    static func apply(_ stage: some PixelStage, to image: VImage, context: PipelineContext) throws -> VImage {
        let (colour, alpha, depth) = try split(image)
        let input = try colour.planarRGB()
        let output = try stage.process(input, context: context)
        return try join(output, alpha: alpha, depth: depth, metadataFrom: colour)
    }

    /// sRGB colour bands (8 or 16 bit), the alpha band if any, and the depth to return to.
    static func split(_ image: VImage) throws -> (colour: VImage, alpha: VImage?, depth: SampleDepth) {
        let depth: SampleDepth = (image.format == .ushort || image.format == .short) ? .sixteen : .eight
        var normalised: VImage
        if image.hasField("icc-profile-data") {
            // Embedded profile: a real colour-managed conversion (CMYK, P3, ...) to sRGB.
            normalised = try image.iccTransform(to: "srgb", depth: depth == .sixteen ? 16 : 8)
        } else {
            normalised = try image.colourspace(depth == .sixteen ? "rgb16" : "srgb")
        }
        let format: BandFormat = depth == .sixteen ? .ushort : .uchar
        if normalised.format != format {
            normalised = try normalised.rint().cast(format)
        }
        guard normalised.bands > 3 else { return (normalised, nil, depth) }
        let colour = try normalised.extractBand(0, count: 3)
        let alpha = try normalised.extractBand(3)
        return (colour, alpha, depth)
    }

    static func join(_ planar: PlanarRGB, alpha: VImage?, depth: SampleDepth, metadataFrom original: VImage) throws -> VImage {
        try join(try VImage.fromPlanarRGB(planar, depth: depth), alpha: alpha, depth: depth, metadataFrom: original)
    }

    /// `colour` (3-band sRGB, 8-bit or already at `depth`) back into the pipeline: raised to 16 bits
    /// (level · 257) when the input was 16-bit, alpha re-attached, metadata carried over.
    static func join(_ colour: VImage, alpha: VImage?, depth: SampleDepth, metadataFrom original: VImage) throws -> VImage {
        var result = colour
        if depth == .sixteen { result = try colour.widenedToSixteenBit() }
        if var alpha {
            if alpha.width != result.width || alpha.height != result.height {
                alpha = try alpha.resize(
                    scale: Double(result.width) / Double(alpha.width),
                    verticalScale: Double(result.height) / Double(alpha.height)
                ).rint().cast(alpha.format)
            }
            result = try result.bandjoin([alpha]).withInterpretation(depth == .sixteen ? "rgb16" : "srgb")
        }
        return try result.editingMetadata { $0.copyMetadata(from: original) }
    }
}
