import ArgumentParser
import StyleFilter

/// A command-line stage: parses its options and builds the ``Stage`` value the chain runs.
protocol StageCommand: ParsableCommand {
    /// The stage; `globals` are the options given before the first stage.
    func makeStage(globals: GlobalOptions) throws -> any Stage
    /// The stage of a command that reads no global option.
    func makeStage() throws -> any Stage
}

extension StageCommand {
    func makeStage(globals: GlobalOptions) throws -> any Stage { try makeStage() }
    func makeStage() throws -> any Stage { throw StyleFilterError(.failure, "\(Self.configuration.commandName ?? "stage") needs the global options") }
}

/// Every stage the command line offers, in help order, and the chain syntax
/// `STAGE [options] [+ STAGE [options]]...`, parsed here once: the library receives stages. A new stage
/// is one more entry here plus its command file.
package enum StageCommands {
    static let all: [any StageCommand.Type] = [
        ResizeCommand.self, ThumbnailCommand.self, CropCommand.self, SmartcropCommand.self, PadCommand.self,
        FlattenCommand.self, ColourspaceCommand.self, DepthCommand.self, CopyCommand.self, StyleCommand.self,
    ]

    /// The stage separator: a standalone `+` argument.
    static let separator = "+"

    /// Splits arguments at standalone `+` separators.
    package static func segments(_ arguments: [String]) -> [[String]] {
        arguments.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
    }

    /// Commands by name and alias; a name used twice is an error.
    static func index(_ commands: [any StageCommand.Type]) throws -> [String: any StageCommand.Type] {
        var index: [String: any StageCommand.Type] = [:]
        for command in commands {
            let configuration = command.configuration
            for name in [configuration.commandName ?? ""] + configuration.aliases {
                guard index.updateValue(command, forKey: name) == nil else {
                    throw StyleFilterError(.failure, "stage name '\(name)' is registered twice")
                }
            }
        }
        return index
    }

    /// Parses the words after the global options into stages (no input is read, nothing is run); what
    /// the chain fuzzer calls.
    package static func parseStages(_ words: [String]) throws -> [any Stage] {
        try parseChain(segments(words))
    }

    /// Parses `STAGE [args]` segments into stages. Each parses through the root command, so errors and
    /// `--help` come out with the full `stylefilter STAGE` usage.
    static func parseChain(_ segments: [[String]], globals: GlobalOptions = GlobalOptions(), commands: [any StageCommand.Type] = all) throws -> [any Stage] {
        let index = try index(commands)
        return try segments.enumerated().map { position, segment in
            guard let name = segment.first else {
                throw StyleFilterError(.usage, position == 0 ? "missing stage" : "missing stage after '+'")
            }
            guard index[name] != nil else {
                let names = commands.compactMap { $0.configuration.commandName }.joined(separator: ", ")
                throw StyleFilterError(.usage, "unknown stage '\(name)' (stages: \(names))")
            }
            if let option = GlobalOptions.misplacedOption(in: segment.dropFirst()) {
                throw StyleFilterError(.usage, "\(name): '\(option)' is a global option; give it before the first stage")
            }
            var parsed = try RootCommand.parseAsRoot(segment)
            guard let stage = parsed as? any StageCommand else {
                // `--help` parses into argument-parser's help command, whose run() throws the clean
                // exit that prints the help.
                try parsed.run()
                throw StyleFilterError(.usage, "'\(name)' is not a stage")
            }
            return try stage.makeStage(globals: globals)
        }
    }
}
