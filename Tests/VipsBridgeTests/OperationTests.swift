import Testing

@testable import VipsBridge

@Suite("Typed libvips operations")
struct OperationTests {
    private func solid(_ value: UInt16, width: Int, height: Int, bands: Int) throws -> VImage {
        let samples = [UInt16](repeating: value, count: width * height * bands)
        return try samples.withUnsafeBufferPointer { try VImage.fromPixels($0, width: width, height: height, bands: bands, format: .ushort) }
    }

    @Test func resizeKeepsFormatAndPremultipliesAlpha() throws {
        let image = try Foreign.load(try VSource.file(Samples.path("rgba16.png")))
        let resized = try image.resize(scale: 0.5)
        #expect(resized.width == 80 && resized.height == 53 && resized.bands == 4 && resized.format == .ushort)
    }

    /// libvips' flatten assumes 255 = opaque unless told; a transparent 16-bit pixel over white must
    /// become 65535, not 255.
    @Test func flattenUsesTheImagesAlphaRange() throws {
        let transparent = try solid(0, width: 2, height: 2, bands: 4).withInterpretation("rgb16")
        let flat = try transparent.flatten(background: [65535, 65535, 65535]).rint().cast(.ushort)
        #expect(flat.bands == 3)
        #expect(try flat.average() == 65535)
    }

    @Test func extractAreaAndGravity() throws {
        let image = try solid(100, width: 10, height: 8, bands: 3)
        let cut = try image.extractArea(left: 2, top: 3, width: 4, height: 5)
        #expect(cut.width == 4 && cut.height == 5)
        let padded = try cut.gravity(.centre, width: 8, height: 9, extend: .background, background: [0, 0, 0])
        #expect(padded.width == 8 && padded.height == 9)
        #expect(throws: VipsError.self) { try image.extractArea(left: 8, top: 0, width: 4, height: 4).pixelBytes() }
    }

    @Test func metadataCanBeEditedOnACopy() throws {
        let image = try solid(1, width: 2, height: 2, bands: 3)
        let edited = try image.editingMetadata { $0.set("png-comment-0-parameters", string: "seed=42") }
        #expect(edited.string("png-comment-0-parameters") == "seed=42")
        #expect(image.string("png-comment-0-parameters") == nil)
        let copied = try solid(2, width: 2, height: 2, bands: 3).editingMetadata { $0.copyMetadata(from: edited) }
        #expect(copied.string("png-comment-0-parameters") == "seed=42")
    }

    @Test func badArgumentNamesFailLoudly() throws {
        let image = try solid(1, width: 2, height: 2, bands: 3)
        let error = #expect(throws: VipsError.self) {
            try OperationCall.callImage("copy", ["in": .image(image), "no_such_argument": .int(1)])
        }
        #expect(error?.message.contains("no_such_argument") == true)
    }
}
