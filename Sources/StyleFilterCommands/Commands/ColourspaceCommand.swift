import ArgumentParser
import StyleFilter

struct ColourspaceCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "colourspace",
        abstract: "Convert to a colour space (srgb, b-w, rgb16, grey16, lab, scrgb, cmyk) or an ICC profile.",
        discussion: """
            With --profile the embedded profile (if any) is the source and the result carries the new profile.
            Built-in profiles: srgb, p3, cmyk; anything else is read as an .icc file.

            Examples:
              stylefilter colourspace b-w < photo.jpg > grey.png
              stylefilter colourspace --profile p3 < photo.jpg > p3.png
              stylefilter -f jpg colorspace cmyk < photo.png > print.jpg
            """,
        aliases: ["colorspace"])

    @Argument(help: ArgumentHelp("Target colour space.", valueName: "space"))
    var space: String?

    @Option(help: ArgumentHelp("Transform to this ICC profile instead: srgb, p3, cmyk or FILE.icc.", valueName: "profile"))
    var profile: String?

    @Option(help: "Rendering intent for --profile: perceptual, relative, saturation, absolute.")
    var intent: Intent = .relative

    func makeStage() throws -> any Stage {
        try ColourspaceStage(space: space, profile: profile, intent: intent)
    }
}
