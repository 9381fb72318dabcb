import ArgumentParser
import StyleFilter

struct CropCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "crop",
        abstract: "Cut out a rectangle: WxH+X+Y, or WxH placed by --gravity.",
        discussion: """
            The rectangle must lie inside the image.

            Examples:
              stylefilter crop 256x256+10+20 < in.png > out.png
              stylefilter crop 512x512 --gravity north < in.jpg > top.png
              stylefilter thumbnail 512x512 + crop 256x256+0+0 < photo.jpg > corner.png
            """)

    @Argument(help: ArgumentHelp("WxH+X+Y (ImageMagick geometry) or WxH.", valueName: "geometry"))
    var geometry: String

    @Option(help: "Where a WxH rectangle sits: centre, north, south, east, west, north-east, ... (default centre).")
    var gravity: Gravity?

    func makeStage() throws -> any Stage {
        let rectangle = try Geometry.parseRectangle(geometry)
        if let x = rectangle.x, let y = rectangle.y {
            guard gravity == nil else { throw ValidationError("give either +X+Y or --gravity, not both") }
            return CropStage(width: rectangle.width, height: rectangle.height, position: .offset(x: x, y: y))
        }
        return CropStage(width: rectangle.width, height: rectangle.height, position: .gravity(gravity ?? .centre))
    }
}
