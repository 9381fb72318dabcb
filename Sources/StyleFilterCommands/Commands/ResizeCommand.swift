import ArgumentParser
import StyleFilter

struct ResizeCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "resize",
        abstract: "Scale by a factor, or fit inside a width and/or height (aspect ratio kept).",
        discussion: """
            First in a chain with --width/--height and the default kernel, the image is shrunk while it is \
            decoded (JPEG/WebP shrink-on-load), which is much faster for big photos. Alpha is premultiplied \
            around the resample.

            Examples:
              stylefilter resize --width 800 < photo.jpg > small.png
              stylefilter -o half.jpg resize --scale 0.5 --kernel cubic < photo.jpg
              stylefilter resize --height 256 --no-enlarge \\
                  + crop 256x256 --gravity centre < in.png > out.png
            """)

    @Option(help: "Scale factor (0.5 halves each side).")
    var scale: Double?

    @Option(help: "Fit inside this width.")
    var width: Int?

    @Option(help: "Fit inside this height.")
    var height: Int?

    @Option(help: "Resampling kernel: nearest, linear, cubic, mitchell, lanczos2, lanczos3.")
    var kernel: Kernel = .lanczos3

    @Flag(name: .customLong("no-enlarge"), help: "Never make the image larger.")
    var noEnlarge = false

    func validate() throws {
        if scale != nil && (width != nil || height != nil) {
            throw ValidationError("give either --scale or --width/--height, not both")
        }
        if scale == nil && width == nil && height == nil {
            throw ValidationError("give --scale, --width or --height")
        }
        for (name, value) in [("--width", width), ("--height", height)] {
            if let value, !(1...Geometry.maximumSide).contains(value) { throw ValidationError("\(name) must be 1...\(Geometry.maximumSide)") }
        }
    }

    func makeStage() throws -> any Stage {
        let target: ResizeStage.Target = scale.map { .scale($0) } ?? .fit(width: width, height: height)
        return try ResizeStage(target, kernel: kernel, noEnlarge: noEnlarge)
    }
}
