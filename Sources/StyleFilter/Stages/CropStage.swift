import VipsBridge

/// `crop WxH+X+Y` or `crop WxH --gravity G`: cut a rectangle out of the image.
public struct CropStage: Stage {
    /// Where the rectangle sits.
    public enum Position: Sendable, Equatable {
        case offset(x: Int, y: Int)
        case gravity(Gravity)
    }

    public var width: Int
    public var height: Int
    public var position: Position

    public init(width: Int, height: Int, position: Position) {
        self.width = width
        self.height = height
        self.position = position
    }

    public var name: String { "crop" }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        let (x, y) = origin(imageWidth: image.width, imageHeight: image.height)
        guard x >= 0, y >= 0, x + width <= image.width, y + height <= image.height else {
            throw StyleFilterError(
                .usage, "crop: \(width)x\(height)+\(x)+\(y) does not fit inside the \(image.width)x\(image.height) image")
        }
        return try wrap(.failure, "crop") { () throws(VipsError) in
            try image.extractArea(left: x, top: y, width: width, height: height)
        }
    }

    /// Top-left corner of the rectangle in an image of the given size.
    func origin(imageWidth: Int, imageHeight: Int) -> (x: Int, y: Int) {
        switch position {
        case .offset(let x, let y):
            return (x, y)
        case .gravity(let gravity):
            return Self.place(gravity, width: width, height: height, inWidth: imageWidth, inHeight: imageHeight)
        }
    }

    /// Top-left corner of a `width`×`height` box anchored at `gravity` inside `inWidth`×`inHeight`.
    static func place(_ gravity: Gravity, width: Int, height: Int, inWidth: Int, inHeight: Int) -> (x: Int, y: Int) {
        let centreX = (inWidth - width) / 2
        let centreY = (inHeight - height) / 2
        let right = inWidth - width
        let bottom = inHeight - height
        switch gravity {
        case .centre: return (centreX, centreY)
        case .north: return (centreX, 0)
        case .south: return (centreX, bottom)
        case .east: return (right, centreY)
        case .west: return (0, centreY)
        case .northEast: return (right, 0)
        case .northWest: return (0, 0)
        case .southEast: return (right, bottom)
        case .southWest: return (0, bottom)
        }
    }
}
