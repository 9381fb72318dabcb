import ArgumentParser
import Foundation
import Logging
import StyleFilter

/// Runs one command line: `[globals] STAGE [options] [+ STAGE [options]]...`, `info` or `formats`.
/// Returns the exit status instead of exiting, so `main` can shut libvips down (leak report) first.
package enum Dispatcher {
    package static func run(_ arguments: [String]) -> Int32 { run(arguments, console: .current) }

    static func run(_ arguments: [String], console: Console) -> Int32 {
        do {
            try dispatch(arguments, console: console)
            return 0
        } catch let error as StyleFilterError {
            // An empty message means "end quietly" (the reader closed the pipe, or every failure of
            // `models fetch` was already reported).
            if !error.message.isEmpty { Console.error(error.message) }
            return error.exitCode
        } catch let report as StageReport {
            Console.writeOutput(report.text + "\n")
            return 0
        } catch {
            return report(argumentError: error)
        }
    }

    /// swift-argument-parser errors: help and version go to stdout (status 0); usage errors are one line.
    private static func report(argumentError error: any Error) -> Int32 {
        let code = RootCommand.exitCode(for: error)
        if code == .success {
            Console.writeOutput(RootCommand.fullMessage(for: error) + "\n")
            return 0
        }
        Console.error(RootCommand.message(for: error) + " (see 'stylefilter --help')")
        return code.rawValue
    }

    private static func dispatch(_ arguments: [String], console: Console) throws {
        let segments = StageCommands.segments(arguments)
        let head = segments[0]
        guard let commandIndex = commandIndex(in: head) else {
            // Only global options: --help, --version, or a missing stage.
            if head.isEmpty { throw StyleFilterError(.usage, "missing stage (try 'stylefilter --help')") }
            var parsed = try RootCommand.parseAsRoot(head)
            try parsed.run()  // help/version throw a clean exit; the root command itself reports the missing stage
            throw StyleFilterError(.usage, "missing stage (try 'stylefilter --help')")
        }
        let (globalWords, modelsDirectory) = try GlobalOptions.extractModelsDirectory(Array(head[..<commandIndex]))
        var globals = try GlobalOptions.parse(globalWords)
        globals.modelsDir = modelsDirectory
        bootstrapLogging(globals)
        let command = head[commandIndex]
        let commandArguments = Array(head[commandIndex...])
        if command == "help" {
            // `stylefilter help [SUBCOMMAND...]`, as ArgumentParser's own usage text suggests: running the
            // parsed help command throws the help request, reported like `--help` (stdout, status 0).
            var parsed = try RootCommand.parseAsRoot(commandArguments)
            try parsed.run()
            throw StyleFilterError(.usage, "unknown help topic (try 'stylefilter --help')")
        }
        if command == "models" {
            return try ModelsCommand.dispatch(commandArguments, chained: segments.count > 1, globals: globals, console: console)
        }
        if command == "info" || command == "formats" || command == "score" {
            guard segments.count == 1 else { throw StyleFilterError(.usage, "'\(command)' cannot be chained with '+'") }
            try Runtime.configure(threads: try globals.resolvedThreads(), allowUntrusted: globals.allowUntrusted)
            var parsed = try RootCommand.parseAsRoot(commandArguments)
            if let info = parsed as? InfoCommand {
                try info.execute(globals: globals, console: console)
            } else if let formats = parsed as? FormatsCommand {
                try formats.execute(globals: globals)
            } else if let score = parsed as? ScoreCommand {
                try score.execute(globals: globals, console: console)
            } else {
                try parsed.run()  // help
            }
            return
        }
        let stages = try StageCommands.parseChain([commandArguments] + segments.dropFirst(), globals: globals)
        try runChain(stages, globals: globals, console: console)
    }

    private static func runChain(_ stages: [any Stage], globals: GlobalOptions, console: Console) throws {
        let input = ImageInput(argument: globals.input)
        let output = try OutputSpec.resolve(output: globals.output, format: globals.format, strip: globals.strip)
        let reportsOnly = stages.contains { $0 is StylePlanStage }
        if input == .standardInput && console.standardInputIsTerminal {
            let hint = reportsOnly ? " (or give --dry-run a --size WxH)" : ""
            throw StyleFilterError(.usage, "no input: standard input is a terminal; pipe an image in or use -i FILE\(hint)")
        }
        // A dry run prints its plan, not an image, so a terminal is fine.
        if output.destination == .standardOutput && console.standardOutputIsTerminal && !globals.force && !reportsOnly {
            throw StyleFilterError(
                .usage, "refusing to write binary image data to a terminal; redirect stdout, use -o FILE or --force")
        }
        let threads = try globals.resolvedThreads()
        try Runtime.configure(threads: threads, allowUntrusted: globals.allowUntrusted)
        let logger = Logger(label: "stylefilter")
        Runtime.logLibvipsWarnings(to: Logger(label: "stylefilter.vips"))
        let reporter = ProgressReporter.make(mode: globals.progress, console: console, quiet: globals.quiet)
        var progress: (@Sendable (ProgressEvent) -> Void)?
        if let reporter { progress = { event in reporter.report(event) } }
        let context = PipelineContext(
            failOn: globals.failOn, seed: try globals.resolvedSeed(), maxPixels: globals.maxPixels, logger: logger, progress: progress)
        logger.info(
            "seed \(context.seed); threads: libvips \(Runtime.libvipsThreads), OpenBLAS \(Runtime.engineThreads); stages: \(stages.map(\.name).joined(separator: " + "))")
        logger.info("\(Runtime.engineKernels)")
        let start = ContinuousClock.now
        defer { reporter?.finish() }
        try Chain(stages).run(input: input, output: output, context: context)
        logger.debug(
            "done in \(ContinuousClock.now - start), libvips memory high-water \(Runtime.libvipsMemoryHighWater / 1_048_576) MiB, peak resident memory \(Runtime.peakResidentBytes / 1_048_576) MiB")
    }

    /// Index of the stage or subcommand name in the first segment, skipping global options and their values.
    static func commandIndex(in tokens: [String]) -> Int? {
        var index = 0
        while index < tokens.count {
            let token = tokens[index]
            if token == "--" { return index + 1 < tokens.count ? index + 1 : nil }
            if token.hasPrefix("-") && token != "-" {
                if GlobalOptions.valueOptionNames.contains(token) { index += 1 }
                index += 1
                continue
            }
            return index
        }
        return nil
    }

    private static func bootstrapLogging(_ globals: GlobalOptions) {
        let level: Logger.Level = globals.quiet ? .error : globals.verbose >= 2 ? .debug : globals.verbose == 1 ? .info : .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
