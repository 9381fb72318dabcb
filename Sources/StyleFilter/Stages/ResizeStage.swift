import VipsBridge

/// `resize`: scale by a factor, or fit inside a width and/or height keeping the aspect ratio.
/// First in a chain with a fit and the default kernel, it shrinks while decoding (`thumbnail_source`).
public struct ResizeStage: Stage {
    /// What size to reach.
    public enum Target: Sendable, Equatable {
        case scale(Double)
        /// Fit inside; a nil side is unconstrained.
        case fit(width: Int?, height: Int?)
    }

    public var target: Target
    public var kernel: Kernel
    /// Never make the image larger.
    public var noEnlarge: Bool

    public init(_ target: Target, kernel: Kernel = .lanczos3, noEnlarge: Bool = false) throws {
        switch target {
        case .scale(let factor):
            guard factor > 0, factor.isFinite else { throw StyleFilterError(.usage, "resize: --scale must be > 0") }
        case .fit(let width, let height):
            guard width != nil || height != nil else {
                throw StyleFilterError(.usage, "resize: give --scale, --width or --height")
            }
        }
        self.target = target
        self.kernel = kernel
        self.noEnlarge = noEnlarge
    }

    public var name: String { "resize" }

    public func load(from source: VSource, context: PipelineContext) throws -> VImage? {
        // thumbnail always uses lanczos3; another kernel needs the plain path.
        guard case .fit(let width, let height) = target, kernel == .lanczos3 else { return nil }
        return try VImage.thumbnail(
            source: source, width: width ?? ThumbnailStage.unconstrained, height: height ?? ThumbnailStage.unconstrained,
            size: noEnlarge ? .down : .both, failOn: context.failOn)
    }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        let exact = exactOutputSize(width: image.width, height: image.height)
        guard exact.width <= Double(Geometry.maximumSide) && exact.height <= Double(Geometry.maximumSide) else {
            throw StyleFilterError(.usage, "resize: the result would be over \(Geometry.maximumSide) pixels on a side")
        }
        let (width, height) = outputSize(width: image.width, height: image.height)
        if width == image.width && height == image.height { return image }
        return try image.resize(
            scale: Double(width) / Double(image.width), verticalScale: Double(height) / Double(image.height), kernel: kernel)
    }

    /// The size this stage produces from a `width`×`height` input (sides capped far inside Int's range:
    /// `apply` refuses sizes past ``Geometry/maximumSide``).
    public func outputSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let exact = exactOutputSize(width: width, height: height)
        func side(_ v: Double) -> Int { v.isFinite && v < 1e15 ? max(1, Int(v)) : Int(1e15) }
        return (side(exact.width), side(exact.height))
    }

    /// The output sides before conversion to whole pixels (rounded).
    func exactOutputSize(width: Int, height: Int) -> (width: Double, height: Double) {
        var factor: Double
        switch target {
        case .scale(let scale):
            factor = scale
        case .fit(let fitWidth, let fitHeight):
            factor = .infinity
            if let fitWidth { factor = min(factor, Double(fitWidth) / Double(width)) }
            if let fitHeight { factor = min(factor, Double(fitHeight) / Double(height)) }
        }
        if noEnlarge { factor = min(factor, 1) }
        return ((Double(width) * factor).rounded(), (Double(height) * factor).rounded())
    }
}
