import ArgumentParser
import Foundation
import StyleFilter

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print an image's header (size, bands, format, colour, loader, metadata) without decoding it.",
        discussion: """
            Examples:
              stylefilter info photo.jpg
              stylefilter info --json < photo.jpg
              vips copy photo.jpg .png | stylefilter info -
            """)

    @Argument(help: ArgumentHelp("Image file, or '-' for standard input (default: -i, else stdin).", valueName: "file"))
    var file: String?

    @Flag(help: "Print JSON.")
    var json = false

    func execute(globals: GlobalOptions, console: Console) throws {
        let input = ImageInput(argument: file ?? globals.input)
        if input == .standardInput && console.standardInputIsTerminal {
            throw StyleFilterError(.usage, "no input: standard input is a terminal; pipe an image in or name a file")
        }
        let info = try ImageInfo.read(input, failOn: globals.failOn)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(info)
            Console.writeOutput(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        let lines = [
            "size: \(info.width)x\(info.height)", "bands: \(info.bands)", "format: \(info.format)",
            "interpretation: \(info.interpretation)", "loader: \(info.loader)", "orientation: \(info.orientation)",
            "alpha: \(info.hasAlpha)", "icc: \(info.hasICC)", "exif: \(info.hasEXIF)", "xmp: \(info.hasXMP)",
            "pages: \(info.pages)",
        ]
        Console.writeOutput(lines.joined(separator: "\n") + "\n")
    }
}
