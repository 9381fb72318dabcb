import ArgumentParser
import StyleFilter

struct FlattenCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "flatten",
        abstract: "Remove alpha by blending onto a background colour (default white).",
        discussion: """
            16-bit images are handled at their own depth. Images without alpha pass through.

            Examples:
              stylefilter -f jpg flatten < logo.png > logo.jpg
              stylefilter flatten --background 0,0,0 < rgba.png > black-bg.png
            """)

    @Option(help: ArgumentHelp("Background R,G,B (0-255).", valueName: "r,g,b"))
    var background: String = "255,255,255"

    func makeStage() throws -> any Stage {
        FlattenStage(background: try Geometry.parseColour(background))
    }
}
