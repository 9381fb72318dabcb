import ArgumentParser
import StyleFilter

struct CopyCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Pass the image through: change format, strip metadata, apply EXIF orientation.",
        discussion: """
            Examples:
              stylefilter -f 'jpg[Q=90]' copy < in.png > out.jpg
              stylefilter --strip -i photo.jpg -o clean.png copy
              vips copy photo.jpg .ppm | stylefilter -f webp copy > out.webp
            """)

    func makeStage() throws -> any Stage { CopyStage() }
}
