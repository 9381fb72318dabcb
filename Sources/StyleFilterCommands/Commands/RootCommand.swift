import ArgumentParser
import StyleFilter

/// The top-level command: global options, the stage list and examples for `--help`. Running chains is
/// the ``Dispatcher``'s job (`+` splitting needs more than one subcommand per command line).
struct RootCommand: ParsableCommand {
    static let version = Runtime.version

    static let configuration = CommandConfiguration(
        commandName: "stylefilter",
        abstract: "A Unix image filter: image bytes in, image bytes out, stages chained in one process.",
        usage: """
            stylefilter [<global-options>] <stage> [<stage-options>] [+ <stage> [<stage-options>]]...
              stylefilter info [<file>] [--json]
              stylefilter score [<file>] --source <path> [--style-image <path> | --prompt <text>] [--json]
              stylefilter formats [--json]
              stylefilter models list|path|fetch|verify|import|inspect
            """,
        discussion: """
            Reads standard input and writes PNG to standard output unless -i/-o/-f say otherwise. Stages \
            joined by a standalone '+' run as one libvips pipeline: the image is decoded once and encoded once, \
            and a chain starting with resize/thumbnail shrinks while decoding. Diagnostics go to stderr only.

            Examples:
              stylefilter thumbnail 512x512 < photo.jpg > thumb.png
              stylefilter -i photo.jpg -o 'out.jpg[Q=90]' \\
                  thumbnail 512x512 + crop 256x256+0+0
              vips copy photo.jpg .png | stylefilter resize --scale 0.5 \\
                  | vips sharpen stdin 'out.jpg[Q=90]'
              convert photo.jpg png:- | stylefilter thumbnail 300x300 \\
                  | convert - -quality 90 jpg:out.jpg
              jpegtopnm photo.jpg | stylefilter -f ppm crop 100x100+0+0 \\
                  | pnmtopng > out.png
              stylefilter info photo.jpg --json

            --models-dir DIR before the command sets the models directory of 'style' and 'models' (as \
            $STYLEFILTER_MODELS does); their own --models-dir wins.

            Exit status: 0 ok, 64 usage, 65 bad image data, 66 missing input, 73 cannot create output, \
            74 write error, 1 other failure; 141 means the reader closed the pipe early.
            """,
        version: version,
        subcommands: StageCommands.all + [InfoCommand.self, FormatsCommand.self, ScoreCommand.self, ModelsCommand.self])

    @OptionGroup(title: "Global options (before the first stage)")
    var globals: GlobalOptions

    func run() throws {
        throw ValidationError("missing stage")
    }
}
