import VipsBridge

/// One step of a chain (`resize`, `crop`, ..., later `style`). Stages are values: parse options into
/// one, then ``Chain`` applies it to a lazy libvips image.
///
/// A stage that can do its work while decoding (shrink-on-load) implements ``load(from:context:)``; the
/// chain calls it only when the stage comes first.
public protocol Stage: Sendable {
    /// The stage's name in messages (`"resize"`).
    var name: String { get }

    /// Whether the stage reads its input out of order or more than once. The chain then decodes the
    /// image into memory first, because a sequentially loaded image can only be read top to bottom.
    var needsRandomAccess: Bool { get }

    /// Loads the input and applies this stage in one step (e.g. `thumbnail_source`), or returns nil to
    /// let the chain load the image normally and call ``apply(to:context:)``.
    func load(from source: VSource, context: PipelineContext) throws -> VImage?

    /// Adds this stage to the pipeline. Must not evaluate pixels unless ``needsRandomAccess`` is true.
    func apply(to image: VImage, context: PipelineContext) throws -> VImage
}

extension Stage {
    public var needsRandomAccess: Bool { false }

    public func load(from source: VSource, context: PipelineContext) throws -> VImage? { nil }
}

/// A stage that needs the whole image as planar float32 RGB (what the diffusion engine consumes) and
/// returns one, possibly of another size.
///
/// The chain converts for it: colour to sRGB (via the embedded ICC profile if any), greyscale and CMYK to
/// RGB, 8/16-bit kept, alpha split off and re-attached (resized to the new size), metadata carried over.
public protocol PixelStage: Stage {
    /// Transforms the pixels. Samples are nominally 0...1; results are clamped and rounded on the way back.
    func process(_ pixels: PlanarRGB, context: PipelineContext) throws -> PlanarRGB
}

extension PixelStage {
    public var needsRandomAccess: Bool { true }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        try PixelBridge.apply(self, to: image, context: context)
    }
}
