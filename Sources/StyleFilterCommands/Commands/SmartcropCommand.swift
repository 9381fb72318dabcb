import ArgumentParser
import StyleFilter

struct SmartcropCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "smartcrop",
        abstract: "Crop to the most interesting WxH region.",
        discussion: """
            Scores the whole image first, so the image is decoded into memory.

            Examples:
              stylefilter smartcrop 300x300 < photo.jpg > interesting.png
              stylefilter thumbnail 1024x + smartcrop 512x512 --interesting entropy \\
                  < photo.jpg > out.png
            """)

    @Argument(help: ArgumentHelp("Size of the crop: WxH.", valueName: "size"))
    var size: String

    @Option(help: "How to choose: attention, entropy, centre, low, high, all.")
    var interesting: Interesting = .attention

    func makeStage() throws -> any Stage {
        let (width, height) = try Geometry.parseFullSize(size)
        return SmartcropStage(width: width, height: height, interesting: interesting)
    }
}
