import ArgumentParser
import Foundation
import StyleFilter

struct ModelsPathCommand: ModelsSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Print the models directory, or the path of one model's file (exit 78 when it is missing).",
        discussion: """
            Examples:
              stylefilter models path
              ls -l "$(stylefilter models path)"
              stylefilter models path dino-vitb8
            """)

    @OptionGroup var directory: ModelsDirectoryOptions

    @Argument(help: ArgumentHelp("A model name (see 'stylefilter models list').", valueName: "name"))
    var name: String?

    func execute(_ context: ModelsContext) throws {
        let store = try context.store(directory)
        guard let name else {
            Console.writeOutput(store.directory.path + "\n")
            return
        }
        let entry = try store.entry(named: name)
        let path = store.directory.filePath(entry)
        guard FileManager.default.fileExists(atPath: path) else {
            throw StyleFilterError(
                .modelNotUsable,
                "model '\(entry.name)' is not installed (looked for \(path)); install it with 'stylefilter models fetch \(entry.name)'")
        }
        Console.writeOutput(path + "\n")
    }
}
