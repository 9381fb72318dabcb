import Testing

@testable import VipsBridge

@Suite("Region reads and row-written images")
struct RegionTests {
    static func gradient(width w: Int, height h: Int) throws -> VImage {
        var pixels = [UInt8](repeating: 0, count: 3 * w * h)
        for y in 0..<h { for x in 0..<w { for c in 0..<3 { pixels[3 * (y * w + x) + c] = UInt8((x * 3 + y * 5 + c * 60) % 256) } } }
        return try pixels.withUnsafeBufferPointer { try VImage.fromPixels($0, width: w, height: h, bands: 3, format: .uchar) }
    }

    /// A rectangle read through a region equals the same rectangle of the whole-image conversion,
    /// also through a lazy operation (the region evaluates only that part).
    @Test func regionEqualsTheWholeImagesRectangle() throws {
        let image = try Self.gradient(width: 37, height: 23)
        let whole = try image.planarRGB()
        let part = try image.planarRGB(left: 5, top: 7, width: 11, height: 9)
        for c in 0..<3 { for y in 0..<9 { for x in 0..<11 { #expect(part[c, y, x] == whole[c, y + 7, x + 5]) } } }
        let scaled = try image.resize(scale: 2)
        let scaledWhole = try scaled.planarRGB()
        let scaledPart = try scaled.planarRGB(left: 40, top: 30, width: 20, height: 16)
        for c in 0..<3 { for y in 0..<16 { for x in 0..<20 { #expect(scaledPart[c, y, x] == scaledWhole[c, y + 30, x + 40]) } } }
    }

    @Test func rectanglesOutsideTheImageAreRefused() throws {
        let image = try Self.gradient(width: 10, height: 10)
        #expect(throws: VipsError.self) { try image.planarRGB(left: 5, top: 0, width: 6, height: 1) }
        #expect(throws: VipsError.self) { try image.planarRGB(left: -1, top: 0, width: 2, height: 2) }
        #expect(throws: VipsError.self) { try image.regionPixels(of: UInt16.self, left: 0, top: 0, width: 2, height: 2) }
    }

    /// Rows appended in order give the image back; a short image cannot be finished.
    @Test func rowWriterBuildsTheImage() throws {
        let image = try Self.gradient(width: 13, height: 6)
        let bytes = try image.pixelBytes()
        let writer = try VImageRowWriter(width: 13, height: 6, bands: 3, format: .uchar, interpretation: "srgb")
        for y in 0..<5 { try bytes[(y * 39)..<((y + 1) * 39)].withUnsafeBufferPointer { try writer.append(row: $0) } }
        #expect(throws: VipsError.self) { try writer.finish() }
        try bytes[(5 * 39)...].withUnsafeBufferPointer { try writer.append(row: $0) }
        let built = try writer.finish()
        #expect(built.width == 13 && built.height == 6 && built.interpretation == "srgb")
        #expect(try built.pixelBytes() == bytes)
        #expect(try built.planarRGB(left: 2, top: 3, width: 4, height: 2) == (try image.planarRGB(left: 2, top: 3, width: 4, height: 2)))
    }
}
