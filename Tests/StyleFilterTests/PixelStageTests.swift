import Testing

@testable import StyleFilter
@testable import VipsBridge

/// Inverts every sample: out = 1 - in.
private struct InvertStage: PixelStage {
    var name: String { "invert" }

    func process(_ pixels: PlanarRGB, context: PipelineContext) throws -> PlanarRGB {
        PlanarRGB(width: pixels.width, height: pixels.height, samples: pixels.samples.map { 1 - $0 })
    }
}

/// Keeps every other pixel in each direction (a stand-in for a stage that changes the size).
private struct HalveStage: PixelStage {
    var name: String { "halve" }

    func process(_ pixels: PlanarRGB, context: PipelineContext) throws -> PlanarRGB {
        let width = pixels.width / 2
        let height = pixels.height / 2
        var out = PlanarRGB(width: width, height: height, samples: .init(repeating: 0, count: 3 * width * height))
        for channel in 0..<3 {
            for y in 0..<height {
                for x in 0..<width { out[channel, y, x] = pixels[channel, 2 * y, 2 * x] }
            }
        }
        return out
    }
}

/// Records the seed it was given.
private struct SeedProbe: PixelStage {
    var name: String { "probe" }

    func process(_ pixels: PlanarRGB, context: PipelineContext) throws -> PlanarRGB {
        guard context.seed == 7 else { throw StyleFilterError(.failure, "seed \(context.seed)") }
        return pixels
    }
}

@Suite("Whole-image planar RGB stages")
struct PixelStageTests {
    @Test func invertsEightBitRGBExactly() throws {
        let original = try build([CopyStage()], on: "chelsea.png").pixelBytes()
        let inverted = try build([InvertStage()], on: "chelsea.png")
        #expect(inverted.bands == 3 && inverted.format == .uchar)
        #expect(try inverted.pixelBytes() == original.map { 255 - $0 })
        // The sRGB profile and XMP travel with the pixels.
        #expect(inverted.hasField("icc-profile-data") && inverted.hasField("xmp-data"))
    }

    @Test func keepsSixteenBitsAndAlpha() throws {
        // Sequentially loaded images can be read once; these are read several times.
        let original = try build([CopyStage()], on: "rgba16.png").copyMemory()
        let inverted = try build([InvertStage()], on: "rgba16.png").copyMemory()
        #expect(inverted.bands == 4 && inverted.format == .ushort && inverted.interpretation == "rgb16")
        // Alpha is untouched.
        #expect(try inverted.extractBand(3).pixelBytes() == (try original.extractBand(3).pixelBytes()))
        // Colour is inverted at 16-bit precision (after the embedded profile's conversion to sRGB).
        let red = try PixelBridge.split(original).colour.extractBand(0).average()
        let invertedRed = try inverted.extractBand(0).average()
        #expect(abs(red + invertedRed - 65535) < 0.01)
    }

    @Test func resizesAlphaToTheNewSize() throws {
        let halved = try build([HalveStage()], on: "rgba16.png")
        #expect(halved.width == 80 && halved.height == 53 && halved.bands == 4)
        _ = try halved.pixelBytes()
    }

    @Test func greyscaleArrivesAsRGB() throws {
        let result = try build([InvertStage()], on: "grey.png")
        #expect(result.bands == 3 && result.interpretation == "srgb")
    }

    @Test func followsOtherStagesInOnePipeline() throws {
        let result = try build([try ThumbnailStage(width: 100, height: 100), InvertStage(), CropStage(width: 10, height: 10, position: .offset(x: 0, y: 0))], on: "rocket.jpg")
        #expect(result.width == 10 && result.height == 10)
    }

    @Test func seesTheContext() throws {
        var context = PipelineContext()
        context.seed = 7
        _ = try Chain([SeedProbe()]).build(input: Samples.input("grey.png"), context: context)
        #expect(throws: StyleFilterError.self) { try Chain([SeedProbe()]).build(input: Samples.input("grey.png")) }
    }
}
