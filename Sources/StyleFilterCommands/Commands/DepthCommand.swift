import ArgumentParser
import StyleFilter

struct DepthCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "depth",
        abstract: "Change bits per sample: 8, 16 or float (rounded, not truncated).",
        discussion: """
            float keeps libvips' convention of a 0-255 range.

            Examples:
              stylefilter depth 8 < deep.png > shallow.png
              stylefilter depth 16 < photo.jpg > deep.png
              stylefilter -f pfm depth float < photo.png > photo.pfm
            """)

    @Argument(help: ArgumentHelp("8, 16 or float.", valueName: "depth"))
    var depth: DepthStage.Depth

    func makeStage() throws -> any Stage { DepthStage(depth) }
}
