import ArgumentParser
import Foundation
import StyleFilter

struct ModelsImportCommand: ModelsSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Copy (or link) a checkpoint downloaded by hand into the models directory, recognised by hash or tensor shapes.",
        discussion: """
            The file is identified by its SHA-256 (published or pinned) or by the architecture its tensors show, \
            copied under its official name, and its hash is pinned so later changes are caught.

            Examples:
              stylefilter models import ~/Downloads/ffhq_10m.pt
              stylefilter models import --link /data/weights/model_ir_se50.pth
              stylefilter models import --as dino-vitb8 ./dino.pth
            """)

    @OptionGroup var directory: ModelsDirectoryOptions

    @Argument(help: ArgumentHelp("The checkpoint file.", valueName: "file"))
    var file: String

    @Option(name: .customLong("as"), help: ArgumentHelp("The model it must be (default: recognise it).", valueName: "name"))
    var name: String?

    @Flag(help: "Symlink the file instead of copying it (it must then stay where it is).")
    var link = false

    @Flag(help: "Replace an installed file or pin with different content.")
    var force = false

    func execute(_ context: ModelsContext) throws {
        let store = try context.store(directory)
        let result = try store.importFile(file, as: name, link: link, force: force)
        context.note(
            "\(result.entry.name): \(result.linked ? "linked" : "copied") to \(result.path) (identified by \(result.identifiedBy); sha256:\(result.sha256))")
    }
}
