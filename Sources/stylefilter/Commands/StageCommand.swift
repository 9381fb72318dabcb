import ArgumentParser
import StyleFilter

/// A command-line stage: parses its options and builds the ``Stage`` value the chain runs.
protocol StageCommand: ParsableCommand {
    func makeStage() throws -> any Stage
}

/// Every stage the command line offers, in help order. A new stage (e.g. `style`) is one more entry here
/// plus its command file.
enum StageCommands {
    static let all: [any StageCommand.Type] = [
        ResizeCommand.self, ThumbnailCommand.self, CropCommand.self, SmartcropCommand.self, PadCommand.self,
        FlattenCommand.self, ColourspaceCommand.self, DepthCommand.self, CopyCommand.self, StyleCommand.self,
    ]

    /// The StyleFilter registry built from the commands: each entry parses through the root command, so
    /// errors and `--help` come out with the full `stylefilter STAGE` usage.
    static func registry() throws -> StageRegistry {
        try StageRegistry(
            all.map { command in
                let configuration = command.configuration
                let name = configuration.commandName!
                return StageRegistry.Entry(name: name, aliases: configuration.aliases, summary: configuration.abstract) { arguments in
                    var parsed = try RootCommand.parseAsRoot([name] + arguments)
                    guard let stage = parsed as? any StageCommand else {
                        // `--help` parses into argument-parser's help command, whose run() throws the
                        // clean exit that prints the help.
                        try parsed.run()
                        throw StyleFilterError(.usage, "'\(name)' is not a stage")
                    }
                    return try stage.makeStage()
                }
            })
    }
}
