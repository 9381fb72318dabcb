import CVips

/// Resampling kernels (libvips `VipsKernel`).
public enum Kernel: String, CaseIterable, Sendable {
    case nearest, linear, cubic, mitchell, lanczos2, lanczos3
}

/// How `thumbnail`/`smartcrop` pick the part to keep (libvips `VipsInteresting`).
public enum Interesting: String, CaseIterable, Sendable {
    case none, centre, entropy, attention, low, high, all
}

/// Whether `thumbnail` may enlarge, shrink, or both (libvips `VipsSize`).
public enum ThumbnailSize: String, CaseIterable, Sendable {
    case both, up, down, force
}

/// Anchor point for `crop`/`pad` (libvips `VipsCompassDirection`).
public enum Gravity: String, CaseIterable, Sendable {
    case centre, north, east, south, west
    case northEast = "north-east", southEast = "south-east", southWest = "south-west", northWest = "north-west"
}

/// How padding is filled (libvips `VipsExtend`).
public enum Extend: String, CaseIterable, Sendable {
    case black, copy, `repeat`, mirror, white, background
}

/// ICC rendering intent (libvips `VipsIntent`).
public enum Intent: String, CaseIterable, Sendable {
    case perceptual, relative, saturation, absolute
}

/// Typed wrappers over the libvips operations the filter's stages use. Each returns a new lazy image.
extension VImage {
    /// Loads and shrinks in one step, using shrink-on-load where the format has it (JPEG, WebP, HEIF);
    /// autorotates by EXIF orientation and premultiplies alpha internally.
    public static func thumbnail(
        source: VSource, width: Int, height: Int?, size: ThumbnailSize = .both, crop: Interesting = .none,
        linear: Bool = false, failOn: FailOn = .truncated
    ) throws(VipsError) -> VImage {
        var arguments: [(String, VipsArgument)] = [
            ("source", .source(source)), ("width", .int(width)), ("size", .nickname(size.rawValue)),
            ("crop", .nickname(crop.rawValue)), ("linear", .bool(linear)),
            // libvips 8.14 does not hand thumbnail's own fail_on to the loader; the loader options do.
            ("option_string", .string("[fail_on=\(failOn.rawValue)]")),
        ]
        if let height { arguments.append(("height", .int(height))) }
        return try OperationCall.callImage("thumbnail_source", arguments)
    }

    /// `thumbnail` for an image already in a pipeline (no shrink-on-load).
    public func thumbnail(
        width: Int, height: Int?, size: ThumbnailSize = .both, crop: Interesting = .none, linear: Bool = false
    ) throws(VipsError) -> VImage {
        var arguments: [(String, VipsArgument)] = [
            ("in", .image(self)), ("width", .int(width)), ("size", .nickname(size.rawValue)),
            ("crop", .nickname(crop.rawValue)), ("linear", .bool(linear)),
        ]
        if let height { arguments.append(("height", .int(height))) }
        return try OperationCall.callImage("thumbnail_image", arguments)
    }

    /// Scales by `scale` (and `verticalScale` if given); output size is `round(size × scale)`.
    /// libvips' `resize` does not premultiply; alpha images are premultiplied around it here.
    public func resize(scale: Double, verticalScale: Double? = nil, kernel: Kernel = .lanczos3) throws(VipsError) -> VImage {
        var arguments: [(String, VipsArgument)] = [("scale", .double(scale)), ("kernel", .nickname(kernel.rawValue))]
        if let verticalScale { arguments.append(("vscale", .double(verticalScale))) }
        guard hasAlpha else {
            return try OperationCall.callImage("resize", [("in", .image(self))] + arguments)
        }
        let premultiplied = try OperationCall.callImage(
            "premultiply", ["in": .image(self), "max_alpha": .double(maxAlpha)])
        let resized = try OperationCall.callImage("resize", [("in", .image(premultiplied))] + arguments)
        let restored = try OperationCall.callImage(
            "unpremultiply", ["in": .image(resized), "max_alpha": .double(maxAlpha)])
        return try restored.cast(format)
    }

    /// The rectangle at (`left`, `top`) of size `width`×`height`; it must lie inside the image.
    public func extractArea(left: Int, top: Int, width: Int, height: Int) throws(VipsError) -> VImage {
        try OperationCall.callImage(
            "extract_area",
            ["input": .image(self), "left": .int(left), "top": .int(top), "width": .int(width), "height": .int(height)])
    }

    /// Crops to `width`×`height` keeping the most interesting part. Reads the image more than once.
    public func smartcrop(width: Int, height: Int, interesting: Interesting = .attention) throws(VipsError) -> VImage {
        try OperationCall.callImage(
            "smartcrop",
            ["input": .image(self), "width": .int(width), "height": .int(height), "interesting": .nickname(interesting.rawValue)])
    }

    /// Places the image in a `width`×`height` canvas at `gravity`, filling with `extend`.
    public func gravity(
        _ direction: Gravity, width: Int, height: Int, extend: Extend = .black, background: [Double]? = nil
    ) throws(VipsError) -> VImage {
        var arguments: [(String, VipsArgument)] = [
            ("in", .image(self)), ("direction", .nickname(direction.rawValue)), ("width", .int(width)),
            ("height", .int(height)), ("extend", .nickname(extend.rawValue)),
        ]
        if let background { arguments.append(("background", .doubles(background))) }
        return try OperationCall.callImage("gravity", arguments)
    }

    /// Removes alpha by compositing over `background` (one value per colour band, in the image's
    /// sample range); `max_alpha` follows the image's depth so 16-bit alpha scales correctly.
    public func flatten(background: [Double]) throws(VipsError) -> VImage {
        try OperationCall.callImage(
            "flatten", ["in": .image(self), "background": .doubles(background), "max_alpha": .double(maxAlpha)])
    }

    /// Converts to the libvips colour space `space` (`srgb`, `b-w`, `rgb16`, `grey16`, `lab`, `scrgb`, `cmyk`, ...).
    public func colourspace(_ space: String) throws(VipsError) -> VImage {
        try OperationCall.callImage("colourspace", ["in": .image(self), "space": .nickname(space)])
    }

    /// Transforms to the ICC profile `profile` (a built-in name `srgb`/`p3`/`cmyk` or a file), importing
    /// with the embedded profile when there is one. `depth` is 8 or 16 bits per sample.
    public func iccTransform(to profile: String, intent: Intent = .relative, depth: Int = 8) throws(VipsError) -> VImage {
        try OperationCall.callImage(
            "icc_transform",
            [
                "in": .image(self), "output_profile": .string(profile), "embedded": .bool(true),
                "intent": .nickname(intent.rawValue), "depth": .int(depth),
            ])
    }

    /// Converts samples to `format`. Floats are truncated toward zero: round first when that matters.
    public func cast(_ format: BandFormat) throws(VipsError) -> VImage {
        if format == self.format { return self }
        return try OperationCall.callImage("cast", ["in": .image(self), "format": .nickname(format.nickname)])
    }

    /// Rounds samples to the nearest integer (ties to even).
    public func rint() throws(VipsError) -> VImage {
        try OperationCall.callImage("round", ["in": .image(self), "round": .nickname("rint")])
    }

    /// `a × pixel + b` per band (one value applies to all bands); the result is float.
    public func linear(_ a: [Double], _ b: [Double]) throws(VipsError) -> VImage {
        try OperationCall.callImage("linear", ["in": .image(self), "a": .doubles(a), "b": .doubles(b)])
    }

    /// Rotates/flips upright by the EXIF orientation and resets it to 1. Needs random access.
    public func autorotate() throws(VipsError) -> VImage {
        try OperationCall.callImage("autorot", ["in": .image(self)])
    }

    /// Band `band` (and `count - 1` following ones).
    public func extractBand(_ band: Int, count: Int = 1) throws(VipsError) -> VImage {
        try OperationCall.callImage("extract_band", ["in": .image(self), "band": .int(band), "n": .int(count)])
    }

    /// Joins the bands of `images` after this image's bands.
    public func bandjoin(_ images: [VImage]) throws(VipsError) -> VImage {
        try OperationCall.callImage("bandjoin", ["in": .images([self] + images)])
    }

    /// Same pixels with the colour interpretation relabelled (no conversion).
    public func withInterpretation(_ interpretation: String) throws(VipsError) -> VImage {
        try OperationCall.callImage("copy", ["in": .image(self), "interpretation": .nickname(interpretation)])
    }

    /// Pixel mean over all bands (evaluates the image).
    public func average() throws(VipsError) -> Double {
        var mean = 0.0
        try VipsLog.failingOnFailedTiles { () throws(VipsError) in
            try OperationCall.call("avg", [("in", .image(self))]) { operation throws(VipsError) in
                mean = OperationCall.readDouble(operation, "out")
            }
        }
        return mean
    }
}
