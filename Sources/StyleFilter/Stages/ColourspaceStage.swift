import VipsBridge

/// `colourspace SPACE` (alias `colorspace`): convert to a libvips colour space, or with `--profile`
/// transform through ICC profiles (the embedded one as input).
public struct ColourspaceStage: Stage {
    /// Spaces offered on the command line.
    public static let spaces = ["srgb", "b-w", "rgb16", "grey16", "lab", "scrgb", "cmyk", "hsv", "xyz", "lch"]

    /// Either a colour space nickname or nil when ``profile`` is set.
    public var space: String?
    /// `srgb`, `p3`, `cmyk` or an `.icc` file.
    public var profile: String?
    public var intent: Intent

    public init(space: String?, profile: String? = nil, intent: Intent = .relative) throws {
        if let space, !Self.spaces.contains(space) {
            throw StyleFilterError(.usage, "colourspace: unknown space '\(space)' (\(Self.spaces.joined(separator: ", ")))")
        }
        guard (space == nil) != (profile == nil) else {
            throw StyleFilterError(.usage, "colourspace: give a SPACE or --profile, not both or neither")
        }
        self.space = space
        self.profile = profile
        self.intent = intent
    }

    public var name: String { "colourspace" }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        if let profile {
            let sixteen = image.maxAlpha == 65535
            return try wrap(.failure, "colourspace") { () throws(VipsError) in
                var source = image
                // Greyscale without a profile has no input profile libvips can assume: go via RGB.
                if !image.hasField("icc-profile-data") && image.bands <= 2 {
                    source = try image.colourspace(sixteen ? "rgb16" : "srgb")
                }
                return try source.iccTransform(to: profile, intent: intent, depth: sixteen ? 16 : 8)
            }
        }
        let space = self.space!
        return try wrap(.failure, "colourspace") { () throws(VipsError) in try image.colourspace(space) }
    }
}
