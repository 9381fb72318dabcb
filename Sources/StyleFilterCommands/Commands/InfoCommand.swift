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
        ] + Self.describe(info.provenance)
        Console.writeOutput(lines.joined(separator: "\n") + "\n")
    }

    /// The lines of a style run's record: what made the image and how to run it again.
    static func describe(_ p: StyleProvenance?) -> [String] {
        guard let p else { return [] }
        var lines = ["made by: stylefilter \(p.stylefilter) style, seed \(p.seed), preset \(p.preset ?? "none"), mode \(p.mode)"
            + (p.faces ? ", faces" : "") + (p.ddim ? ", DDIM" : "")]
        if let image = p.styleImage { lines.append("  style image: \(image.file) sha256 \(image.sha256)") }
        if let prompt = p.prompt { lines.append("  prompt: \(prompt); source prompt: \(p.sourcePrompt ?? "")") }
        if !p.params.isEmpty { lines.append("  params: " + p.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
        if let tiling = p.tiling { lines.append("  tiling: " + tiling.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
        for model in p.models { lines.append("  \(model.role): \(model.file) sha256 \(model.sha256)") }
        lines.append("  run it again: stylefilter style --replay FILE" + (p.styleImage != nil ? " --style-image \(p.styleImage!.file)" : "") + " < SOURCE")
        return lines
    }
}
