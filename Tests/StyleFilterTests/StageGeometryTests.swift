import Testing

@testable import StyleFilter
@testable import VipsBridge

@Suite("Stage geometry on real images")
struct StageGeometryTests {
    /// (stages, sample, expected width, expected height)
    static let cases: [(String, [any Stage], String, Int, Int)] = {
        do {
            return [
                ("resize scale", [try ResizeStage(.scale(0.5))], "rocket.jpg", 320, 214),
                ("resize width", [try ResizeStage(.fit(width: 100, height: nil))], "rocket.jpg", 100, 67),
                ("resize height cubic", [try ResizeStage(.fit(width: nil, height: 100), kernel: .cubic)], "rocket.jpg", 150, 100),
                ("resize no-enlarge", [try ResizeStage(.fit(width: 5000, height: nil), noEnlarge: true)], "rocket.jpg", 640, 427),
                ("resize enlarge later", [CopyStage(), try ResizeStage(.scale(2))], "grey.png", 320, 212),
                ("thumbnail fit", [try ThumbnailStage(width: 200, height: 200)], "rocket.jpg", 200, 133),
                ("thumbnail crop", [try ThumbnailStage(width: 100, height: 100, crop: .attention)], "rocket.jpg", 100, 100),
                ("thumbnail later", [CopyStage(), try ThumbnailStage(width: 64, height: nil)], "chelsea.png", 64, 43),
                ("thumbnail later crop", [CopyStage(), try ThumbnailStage(width: 50, height: 50, crop: .entropy)], "chelsea.png", 50, 50),
                ("crop offset", [CropStage(width: 100, height: 50, position: .offset(x: 10, y: 20))], "chelsea.png", 100, 50),
                ("crop gravity", [CropStage(width: 100, height: 50, position: .gravity(.southEast))], "chelsea.png", 100, 50),
                ("smartcrop", [SmartcropStage(width: 120, height: 90)], "chelsea.png", 120, 90),
                ("pad", [PadStage(width: 500, height: 400, background: [255, 0, 0])], "chelsea.png", 500, 400),
                ("pad smaller crops", [PadStage(width: 100, height: 100)], "chelsea.png", 100, 100),
                ("flatten", [FlattenStage()], "rgba16.png", 160, 106),
                ("colourspace", [try ColourspaceStage(space: "b-w")], "chelsea.png", 451, 300),
                ("depth", [DepthStage(.sixteen)], "grey.png", 160, 106),
                ("copy", [CopyStage()], "cmyk.jpg", 160, 107),
                ("orientation applied at load", [CopyStage()], "orientation6.jpg", 160, 107),
                ("orientation applied by thumbnail", [try ThumbnailStage(width: 80, height: 80)], "orientation6.jpg", 80, 54),
                (
                    "chain", [try ThumbnailStage(width: 512, height: 512), CropStage(width: 256, height: 256, position: .offset(x: 0, y: 0))],
                    "rocket.jpg", 256, 256
                ),
            ]
        } catch {
            fatalError("stage construction failed: \(error)")
        }
    }()

    @Test(arguments: cases.indices)
    func producesTheExpectedSize(index: Int) throws {
        let (label, stages, sample, width, height) = Self.cases[index]
        let image = try build(stages, on: sample)
        #expect(image.width == width && image.height == height, "\(label): got \(image.width)x\(image.height)")
        // Evaluate too: a lazy pipeline can still fail when pixels are pulled (e.g. out-of-order reads).
        _ = try image.pixelBytes()
    }

    @Test func cropOutsideTheImageIsAUsageError() {
        #expect(throws: StyleFilterError.self) {
            try build([CropStage(width: 500, height: 10, position: .offset(x: 0, y: 0))], on: "chelsea.png")
        }
    }

    @Test func cropPicksTheRightPixels() throws {
        let whole = try build([CopyStage()], on: "chelsea.png").copyMemory()
        let corner = try build([CropStage(width: 7, height: 5, position: .gravity(.southEast))], on: "chelsea.png")
        let expected = try whole.extractArea(left: 451 - 7, top: 300 - 5, width: 7, height: 5).pixelBytes()
        #expect(try corner.pixelBytes() == expected)
    }

    @Test func flattenComposesOverTheBackground() throws {
        // The ramp alpha is 0 in column 0: there the result is the background colour.
        let flat = try build([FlattenStage(background: [255, 0, 0])], on: "rgba16.png").copyMemory()
        #expect(flat.bands == 3 && flat.format == .ushort)
        let column = try flat.extractArea(left: 0, top: 0, width: 1, height: flat.height)
        let red = try column.extractBand(0).average()
        let green = try column.extractBand(1).average()
        #expect(red == 65535 && green == 0)
    }

    @Test func depthConvertsWithRounding() throws {
        let deep = try build([DepthStage(.sixteen)], on: "grey.png")
        #expect(deep.format == .ushort && deep.interpretation == "grey16")
        let back = try build([DepthStage(.sixteen), DepthStage(.eight)], on: "grey.png")
        let original = try build([CopyStage()], on: "grey.png")
        #expect(try back.pixelBytes() == (try original.pixelBytes()))
    }

    @Test func cmykBecomesSRGBClosetoTheOriginal() throws {
        let converted = try build([CopyStage()], on: "cmyk.jpg").copyMemory()
        #expect(converted.bands == 3 && converted.interpretation == "srgb")
        let reference = try build([try ThumbnailStage(width: 160, height: nil)], on: "rocket.jpg")
        #expect(reference.width == converted.width && reference.height == converted.height)
        let difference = abs(try converted.average() - reference.average())
        #expect(difference < 8, "mean differs by \(difference)")
    }
}
