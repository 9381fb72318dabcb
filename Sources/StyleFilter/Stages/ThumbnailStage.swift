import VipsBridge

/// `thumbnail WxH`: fit inside (or, with a crop mode, fill and crop to) a box. First in a chain it
/// shrinks while decoding and autorotates (`thumbnail_source`); later it runs on the decoded pipeline.
public struct ThumbnailStage: Stage {
    /// libvips' "no limit" size for a side the user left out.
    static let unconstrained = Geometry.maximumSide

    public var width: Int?
    public var height: Int?
    public var crop: Interesting
    public var size: ThumbnailSize
    public var linear: Bool

    public init(width: Int?, height: Int?, crop: Interesting = .none, size: ThumbnailSize = .both, linear: Bool = false) throws {
        guard width != nil || height != nil else { throw StyleFilterError(.usage, "thumbnail: give WxH, Wx or xH") }
        if crop != .none && (width == nil || height == nil) {
            throw StyleFilterError(.usage, "thumbnail: --crop needs both sides (WxH)")
        }
        self.width = width
        self.height = height
        self.crop = crop
        self.size = size
        self.linear = linear
    }

    public var name: String { "thumbnail" }

    /// Attention/entropy cropping scores the whole image before cutting, reading it twice.
    public var needsRandomAccess: Bool { crop != .none && crop != .centre && crop != .low && crop != .high }

    public func load(from source: VSource, context: PipelineContext) throws -> VImage? {
        try VImage.thumbnail(
            source: source, width: width ?? Self.unconstrained, height: height ?? Self.unconstrained, size: size,
            crop: crop, linear: linear, failOn: context.failOn)
    }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        try image.thumbnail(
            width: width ?? Self.unconstrained, height: height ?? Self.unconstrained, size: size, crop: crop,
            linear: linear)
    }
}
