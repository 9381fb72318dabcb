import ArgumentParser
import StyleFilter

struct ThumbnailCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "thumbnail",
        abstract: "Fit inside WxH (or fill and crop with --crop), like vipsthumbnail.",
        discussion: """
            First in a chain, this loads with shrink-on-load and autorotates, as vipsthumbnail does.

            Examples:
              stylefilter thumbnail 512x512 < photo.jpg > thumb.png
              stylefilter thumbnail 256x256 --crop attention < photo.jpg > square.png
              stylefilter -i photo.jpg -o 'thumb.webp[Q=80]' thumbnail 512x
            """)

    @Argument(help: ArgumentHelp("Box to fit: WxH, Wx or xH.", valueName: "size"))
    var size: String

    @Option(help: "Fill the box and crop: none, centre, entropy, attention, low, high, all.")
    var crop: Interesting = .none

    @Option(name: .customLong("size"), help: "Allow only shrinking (down), enlarging (up), both, or force the exact size.")
    var sizeMode: ThumbnailSize = .both

    @Flag(help: "Shrink in linear light (slower, more accurate).")
    var linear = false

    func makeStage() throws -> any Stage {
        let (width, height) = try Geometry.parseSize(size)
        return try ThumbnailStage(width: width, height: height, crop: crop, size: sizeMode, linear: linear)
    }
}
