import ArgumentParser
import Foundation
import StyleFilter

/// `stylefilter models ...`: list, locate, download, verify, import and inspect pretrained checkpoints.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Manage the pretrained checkpoints: list, path, fetch, verify, import, inspect.",
        discussion: """
            Models live in --models-dir, else $STYLEFILTER_MODELS, else \
            ${XDG_CACHE_HOME:-$HOME/.cache}/stylefilter/models. Downloads go to '<file>.partial' (resumed when \
            interrupted), are checked against the published SHA-256 (CLIP) or the hash pinned on the first \
            download (recorded in pins.json), and only then renamed into place.

            Environment: STYLEFILTER_MIRROR=URL replaces the official hosts (same paths); STYLEFILTER_OFFLINE=1 \
            forbids network access; STYLEFILTER_STALL_TIMEOUT=SECONDS (default 60) fails a download that \
            receives nothing for that long; STYLEFILTER_FETCH_ATTEMPTS=N (default 3) retries interrupted downloads.

            Examples:
              stylefilter models list
              stylefilter models fetch --mode image
              stylefilter models fetch dino-vitb8 clip-vitb32
              stylefilter models verify
              stylefilter models import ~/Downloads/ffhq_10m.pt
              stylefilter models inspect dino_vitbase8_pretrain.pth

            Exit status: 0 ok, 64 usage, 65 not a known model, 66 missing input file, 69 network failure or \
            offline, 73 cannot write the models directory, 78 model missing, corrupt or checksum mismatch.
            """,
        subcommands: [
            ModelsListCommand.self, ModelsPathCommand.self, ModelsFetchCommand.self, ModelsVerifyCommand.self,
            ModelsImportCommand.self, ModelsInspectCommand.self,
        ],
        defaultSubcommand: ModelsListCommand.self)

    /// Runs `models ...` (`arguments` start with "models"); called by the ``Dispatcher``.
    static func dispatch(_ arguments: [String], chained: Bool, globals: GlobalOptions, console: Console) throws {
        if chained { throw StyleFilterError(.usage, "'models' cannot be chained with '+'") }
        var parsed = try RootCommand.parseAsRoot(arguments)
        guard let command = parsed as? any ModelsSubcommand else {
            try parsed.run()  // --help and help: a clean exit that prints the help
            throw StyleFilterError(.usage, "missing models subcommand: list, path, fetch, verify, import or inspect")
        }
        var globals = globals
        // The root command's global options are accepted after 'models' too, but parsing hands back only
        // the subcommand; take the two that matter here from the words themselves.
        var index = 0
        while index < arguments.count && arguments[index] != "--" {
            let word = arguments[index]
            if word == "-q" || word == "--quiet" { globals.quiet = true }
            if word == "--progress", index + 1 < arguments.count, let mode = ProgressMode(rawValue: arguments[index + 1]) { globals.progress = mode }
            if word.hasPrefix("--progress="), let mode = ProgressMode(rawValue: String(word.dropFirst(11))) { globals.progress = mode }
            index += 1
        }
        let context = ModelsContext(globals: globals, console: console, environment: try ModelEnvironment())
        try command.execute(context)
    }
}

/// A `models` subcommand, run with what the dispatcher resolved.
protocol ModelsSubcommand: ParsableCommand {
    func execute(_ context: ModelsContext) throws
}

/// Options every `models` subcommand that touches the models directory takes.
struct ModelsDirectoryOptions: ParsableArguments {
    @Option(
        name: .customLong("models-dir"),
        help: ArgumentHelp(
            "Models directory (default: $STYLEFILTER_MODELS, else ${XDG_CACHE_HOME:-$HOME/.cache}/stylefilter/models).",
            valueName: "dir"))
    var modelsDirectory: String?
}

/// Global settings and environment for one `models` run.
struct ModelsContext {
    var globals: GlobalOptions
    var console: Console
    var environment: ModelEnvironment

    func store(_ options: ModelsDirectoryOptions) throws -> ModelStore {
        // The subcommand's --models-dir wins over the global one.
        let directory = try ModelsDirectory.resolve(option: options.modelsDirectory ?? globals.modelsDir, environment: environment)
        return ModelStore(directory: directory, environment: environment)
    }

    /// Progress display for transfers and hashing, honouring `--progress`, `--quiet` and the terminal.
    func progressStyle() -> TransferProgressView.Style {
        if globals.quiet { return .none }
        switch globals.progress {
        case .never: return .none
        case .plain, .json: return .lines
        case .always: return .redraw
        case .auto: return console.standardErrorIsTerminal ? .redraw : .lines
        }
    }

    /// A line on stderr unless quiet.
    func note(_ text: String) {
        if !globals.quiet { Console.writeError("stylefilter: \(text)\n") }
    }
}

extension ModelMode: ExpressibleByArgument {}
