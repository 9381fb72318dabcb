import VipsBridge

/// `flatten`: remove alpha by compositing over a background colour (white by default, unlike libvips).
public struct FlattenStage: Stage {
    /// 0–255 per colour band; scaled for 16-bit images.
    public var background: [Double]

    public init(background: [Double] = [255, 255, 255]) {
        self.background = background
    }

    public var name: String { "flatten" }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        guard image.hasAlpha else { return image }
        var image = image
        if image.bands == 2, background.count == 3, !background.allSatisfy({ $0 == background[0] }) {
            // A coloured background on grey+alpha: become RGB first so the colour survives.
            let space = image.maxAlpha == 65535 ? "rgb16" : "srgb"
            image = try wrap(.failure, "flatten") { () throws(VipsError) in try image.colourspace(space) }
        }
        let values = try ColourValues.match(background, to: image, stage: name)
        let source = image
        let flattened = try wrap(.failure, "flatten") { () throws(VipsError) in
            try source.flatten(background: values).rint().cast(source.format)
        }
        return flattened
    }
}
