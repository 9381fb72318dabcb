import VipsBridge

/// `pad WxH`: place the image on a `WxH` canvas (letterbox) at a gravity; a smaller canvas crops.
public struct PadStage: Stage {
    public var width: Int
    public var height: Int
    public var gravity: Gravity
    public var extend: Extend
    /// Fill colour for `extend == .background`, 0–255 per colour band.
    public var background: [Double]

    public init(width: Int, height: Int, gravity: Gravity = .centre, extend: Extend = .black, background: [Double] = [0, 0, 0]) {
        self.width = width
        self.height = height
        self.gravity = gravity
        self.extend = extend
        self.background = background
    }

    public var name: String { "pad" }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        var fill: [Double]? = nil
        if extend == .background {
            // Colour bands from the given values; a present alpha band is filled opaque.
            var values = try ColourValues.match(background, to: image, stage: name)
            if image.hasAlpha { values.append(image.maxAlpha) }
            fill = values
        }
        return try wrap(.failure, "pad") { () throws(VipsError) in
            try image.gravity(gravity, width: width, height: height, extend: extend, background: fill)
        }
    }
}

/// Adapts a user colour (0–255 per channel) to an image's colour bands and sample range.
enum ColourValues {
    static func match(_ colour: [Double], to image: VImage, stage: String) throws -> [Double] {
        let colourBands = image.hasAlpha ? image.bands - 1 : image.bands
        let scale = image.maxAlpha == 65535 ? 257.0 : 1
        var values = colour
        if values.count == 1 { values = Array(repeating: values[0], count: colourBands) }
        if values.count == 3 && colourBands == 1 {
            guard values.allSatisfy({ $0 == values[0] }) else {
                throw StyleFilterError(.usage, "\(stage): the image is greyscale; give one value or a grey R,G,B")
            }
            values = [values[0]]
        }
        guard values.count == colourBands else {
            throw StyleFilterError(.usage, "\(stage): the image has \(colourBands) colour bands; give that many values")
        }
        return values.map { $0 * scale }
    }
}
