import VipsBridge

/// Header facts about an image, read without decoding its pixels (`stylefilter info`).
public struct ImageInfo: Sendable, Equatable, Codable {
    public var width: Int
    public var height: Int
    public var bands: Int
    public var format: String
    public var interpretation: String
    /// libvips loader nickname, e.g. `jpegload_source`.
    public var loader: String
    public var orientation: Int
    public var hasAlpha: Bool
    public var hasICC: Bool
    public var hasEXIF: Bool
    public var hasXMP: Bool
    public var pages: Int
    /// What made the image, when `style` wrote it (``StyleProvenance``).
    public var provenance: StyleProvenance?

    /// Reads the header of `input` (the loader allowlist applies).
    public static func read(_ input: ImageInput, failOn: FailOn = .truncated) throws -> ImageInfo {
        let source = try input.openSource()
        let image: VImage
        do {
            image = try Foreign.load(source, failOn: failOn)
        } catch {
            throw StyleFilterError(.badInput, "cannot read \(input.displayName): \(Chain.explain(error.message))")
        }
        return ImageInfo(
            width: image.width, height: image.height, bands: image.bands, format: image.format.nickname,
            interpretation: image.interpretation, loader: image.string("vips-loader") ?? "unknown",
            orientation: image.orientation, hasAlpha: image.hasAlpha, hasICC: image.hasField("icc-profile-data"),
            hasEXIF: image.hasField("exif-data"), hasXMP: image.hasField("xmp-data"), pages: image.int("n-pages") ?? 1,
            provenance: StyleProvenance.read(from: image))
    }
}
