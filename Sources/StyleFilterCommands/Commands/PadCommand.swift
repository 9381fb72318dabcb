import ArgumentParser
import StyleFilter

struct PadCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "pad",
        abstract: "Place the image on a WxH canvas (letterbox); a smaller canvas crops.",
        discussion: """
            Examples:
              stylefilter thumbnail 256x256 + pad 256x256 < photo.jpg > square.png
              stylefilter pad 600x600 --background 255,255,255 --gravity north \\
                  < in.png > out.png
              stylefilter pad 512x512 --extend mirror < in.png > out.png
            """)

    @Argument(help: ArgumentHelp("Canvas size: WxH.", valueName: "size"))
    var size: String

    @Option(help: "Where the image sits: centre, north, south, east, west, north-east, ...")
    var gravity: Gravity = .centre

    @Option(help: "Fill: black, white, copy, mirror, repeat, background (default black, or background when --background is given).")
    var extend: Extend?

    @Option(help: ArgumentHelp("Fill colour R,G,B (0-255) for --extend background.", valueName: "r,g,b"))
    var background: String?

    func makeStage() throws -> any Stage {
        let (width, height) = try Geometry.parseFullSize(size)
        let colour = try background.map(Geometry.parseColour) ?? [0, 0, 0]
        let fill = extend ?? (background == nil ? .black : .background)
        return PadStage(width: width, height: height, gravity: gravity, extend: fill, background: colour)
    }
}
