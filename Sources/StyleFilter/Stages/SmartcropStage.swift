import VipsBridge

/// `smartcrop WxH`: crop to the most interesting `WxH` part (attention, entropy, ...).
public struct SmartcropStage: Stage {
    public var width: Int
    public var height: Int
    public var interesting: Interesting

    public init(width: Int, height: Int, interesting: Interesting = .attention) {
        self.width = width
        self.height = height
        self.interesting = interesting
    }

    public var name: String { "smartcrop" }

    /// Scores the whole image, then cuts: two passes.
    public var needsRandomAccess: Bool { true }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        guard width <= image.width, height <= image.height else {
            throw StyleFilterError(
                .usage, "smartcrop: \(width)x\(height) is larger than the \(image.width)x\(image.height) image")
        }
        return try wrap(.failure, "smartcrop") { () throws(VipsError) in
            try image.smartcrop(width: width, height: height, interesting: interesting)
        }
    }
}
