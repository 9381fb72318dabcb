import ArgumentParser
import Foundation
import StyleFilter

struct FormatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "formats",
        abstract: "List the image loaders and savers this libvips offers, and which loaders are allowed.",
        discussion: """
            Loaders marked 'blocked' are outside the safe set; --allow-untrusted enables them. Every saver \
            writes to standard output, because output is encoded in memory first (even TIFF, which libvips \
            cannot stream to a pipe).

            Examples:
              stylefilter formats
              stylefilter --allow-untrusted formats --json
            """)

    @Flag(help: "Print JSON.")
    var json = false

    private struct Listing: Codable {
        var libvips: String
        var loaders: [ImageFormat]
        var savers: [ImageFormat]
    }

    func execute(globals: GlobalOptions) throws {
        let loaders = ImageFormats.loaders, savers = ImageFormats.savers
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(Listing(libvips: Runtime.libvipsVersion, loaders: loaders, savers: savers))
            Console.writeOutput(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        var text = "libvips \(Runtime.libvipsVersion)\nloaders:\n"
        for entry in loaders {
            text += "  \(entry.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(entry.allowed ? "       " : "blocked") \(entry.description)\n"
        }
        text += "savers:\n"
        for entry in savers {
            text += "  \(entry.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(entry.description)\n"
        }
        Console.writeOutput(text)
    }
}
