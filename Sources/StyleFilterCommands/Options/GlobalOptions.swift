import ArgumentParser
import Foundation
import StyleFilter

/// How progress is shown on stderr.
enum ProgressMode: String, CaseIterable, ExpressibleByArgument {
    /// A redrawn percentage when stderr is a terminal, nothing otherwise.
    case auto
    /// A redrawn percentage even when stderr is not a terminal.
    case always
    case never
    /// A line per phase and per tenth of the steps, for logs.
    case plain
    /// One JSON object per line (phase, step, steps, elapsed, eta), for wrappers and GUIs.
    case json
}

extension FailOn: ExpressibleByArgument {}
extension Kernel: ExpressibleByArgument {}
extension Interesting: ExpressibleByArgument {}
extension ThumbnailSize: ExpressibleByArgument {}
extension Gravity: ExpressibleByArgument {}
extension Extend: ExpressibleByArgument {}
extension Intent: ExpressibleByArgument {}
extension DepthStage.Depth: ExpressibleByArgument {}

/// Options given before the first stage; they apply to the whole run.
struct GlobalOptions: ParsableArguments {
    @Option(name: [.short, .long], help: ArgumentHelp("Input image; '-' is standard input.", valueName: "path"))
    var input: String = "-"

    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "Output image; '-' is standard output. The extension picks the format, options go in brackets: 'out.jpg[Q=90]'.",
            valueName: "path"))
    var output: String = "-"

    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "Output format with saver options: png (default on stdout), 'jpg[Q=90]', 'webp[Q=85]', ppm, pgm, pfm, tif, avif, gif.",
            valueName: "suffix"))
    var format: String?

    @Flag(help: "Write binary image data even when standard output is a terminal.")
    var force = false

    @Flag(help: "Drop metadata (EXIF, XMP, ICC) from the output.")
    var strip = false

    @Option(name: .customLong("fail-on"), help: "Loader strictness: none, truncated, error, warning.")
    var failOn: FailOn = .truncated

    @Flag(name: .customLong("allow-untrusted"), help: "Allow loaders outside the safe set (svg, pdf, jxl, fits, magick, ...).")
    var allowUntrusted = false

    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "Threads for libvips and OpenBLAS; 0 = all cores (default: $STYLEFILTER_THREADS or 0).", valueName: "n"))
    var threads: Int?

    @Option(
        name: .customLong("max-pixels"),
        help: ArgumentHelp(
            "Largest image read or made, in pixels: the input as its header declares it, and every stage's result (default 100000000).",
            valueName: "n"))
    var maxPixels: Int = PipelineContext.defaultMaxPixels

    @Option(help: ArgumentHelp("Seed for stochastic stages, or 'random' (default: $STYLEFILTER_SEED or 42).", valueName: "n|random"))
    var seed: String?

    @Option(help: "Progress on stderr: auto (redrawn, only when stderr is a terminal), always (redrawn), never, plain (lines), json (a JSON object per line).")
    var progress: ProgressMode = .auto

    /// `--models-dir DIR` given before the command (taken out of the words by ``extractModelsDirectory(_:)``:
    /// parsed here, ArgumentParser would also take it from after the command, where `style` and the
    /// `models` subcommands have their own).
    var modelsDir: String?

    @Flag(name: .shortAndLong, help: "Only print errors.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "More diagnostics on stderr (repeat for timings and libvips memory).")
    var verbose: Int

    /// Options that take a value, so the dispatcher can find the stage name after them.
    static let valueOptionNames: Set<String> = [
        "-i", "--input", "-o", "--output", "-f", "--format", "--fail-on", "-t", "--threads", "--seed", "--progress", "--models-dir", "--max-pixels",
    ]

    /// Every word that names one of these options (`--models-dir` is not one: `style` has its own).
    static let optionNames: Set<String> = valueOptionNames.subtracting(["--models-dir"]).union([
        "--force", "--strip", "--allow-untrusted", "-q", "--quiet", "-v", "--verbose",
    ])

    /// The first word of a stage's arguments that is a global option. ArgumentParser accepts a parent
    /// command's options after a subcommand, but only the words before the first stage are read, so
    /// `copy -o out.png` would write to standard output as if `-o` were not there.
    static func misplacedOption(in stageArguments: ArraySlice<String>) -> String? {
        for word in stageArguments {
            if word == "--" { return nil }
            let name = word.hasPrefix("--") ? String(word.prefix(while: { $0 != "=" })) : word
            if optionNames.contains(name) { return name }
        }
        return nil
    }

    /// Removes `--models-dir DIR` / `--models-dir=DIR` from the words before the command; returns the
    /// rest and the directory.
    static func extractModelsDirectory(_ words: [String]) throws -> (rest: [String], directory: String?) {
        var rest: [String] = [], directory: String?
        var index = 0
        while index < words.count {
            let word = words[index]
            if word == "--models-dir" {
                guard index + 1 < words.count else { throw ValidationError("--models-dir needs a directory") }
                directory = words[index + 1]
                index += 2
                continue
            }
            if word.hasPrefix("--models-dir=") { directory = String(word.dropFirst("--models-dir=".count)) } else { rest.append(word) }
            index += 1
        }
        return (rest, directory)
    }

    func validate() throws {
        if let threads, threads < 0 { throw ValidationError("--threads must be 0 (auto) or more") }
        if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
        if quiet && verbose > 0 { throw ValidationError("--quiet and --verbose contradict each other") }
        _ = try resolvedSeed()
    }

    /// `--threads`, else `STYLEFILTER_THREADS`, else 0 (auto).
    func resolvedThreads(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Int {
        if let threads { return threads }
        guard let text = environment["STYLEFILTER_THREADS"] else { return 0 }
        guard let value = Int(text), value >= 0 else {
            throw ValidationError("STYLEFILTER_THREADS must be a number >= 0, got '\(text)'")
        }
        return value
    }

    /// `--seed`, else `STYLEFILTER_SEED`, else 42; `random` draws one.
    func resolvedSeed(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> UInt64 {
        guard let text = seed ?? environment["STYLEFILTER_SEED"] else { return 42 }
        if text == "random" { return UInt64.random(in: 0...UInt64.max) }
        guard let value = UInt64(text) else { throw ValidationError("--seed must be a non-negative integer or 'random', got '\(text)'") }
        return value
    }
}
