import Testing

@testable import VipsBridge

@Suite("Planar float32 RGB conversion")
struct PlanarRGBTests {
    /// Every 8-bit level survives image -> planar -> image unchanged, and lands on level / 255.
    @Test func eightBitLevelsRoundTripExactly() throws {
        let levels: [UInt8] = (0..<256).flatMap { (level: Int) -> [UInt8] in [UInt8(level), UInt8(255 - level), UInt8((level * 7) % 256)] }
        let image = try levels.withUnsafeBufferPointer { (buffer) throws -> VImage in try VImage.fromPixels(buffer, width: 256, height: 1, bands: 3, format: .uchar) }
        let planar = try image.planarRGB()
        #expect(planar.width == 256 && planar.height == 1)
        for level in 0..<256 {
            #expect(planar[0, 0, level] == Float(level) / 255)
            #expect(planar[1, 0, level] == Float(255 - level) / 255)
        }
        let back = try VImage.fromPlanarRGB(planar, depth: .eight)
        #expect(back.interpretation == "srgb")
        #expect(try back.pixelBytes() == levels)
    }

    /// Every 16-bit level survives the round trip.
    @Test func sixteenBitLevelsRoundTripExactly() throws {
        let levels: [UInt16] = (0..<65536).flatMap { (level: Int) -> [UInt16] in [UInt16(level), UInt16(65535 - level), UInt16((level * 31) % 65536)] }
        let image = try levels.withUnsafeBufferPointer { (buffer) throws -> VImage in try VImage.fromPixels(buffer, width: 256, height: 256, bands: 3, format: .ushort) }
        let planar = try image.planarRGB()
        let back = try VImage.fromPlanarRGB(planar, depth: .sixteen)
        #expect(back.format == .ushort && back.interpretation == "rgb16")
        let bytes = try back.pixelBytes()
        let samples = bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }
        #expect(samples == levels)
    }

    /// Values between levels round to the nearest level (a plain cast would truncate 9.9 to 9); values
    /// outside 0...1 clamp and NaN becomes 0.
    @Test func roundsToNearestAndClamps() throws {
        let inputs: [Float] = [9.4 / 255, 9.6 / 255, 0.5 / 255 + 1e-4, -0.3, 1.7, .nan]
        let expected: [UInt8] = [9, 10, 1, 0, 255, 0]
        let planar = PlanarRGB(width: inputs.count, height: 1, samples: inputs + inputs + inputs)
        let bytes = try VImage.fromPlanarRGB(planar, depth: .eight).pixelBytes()
        for (index, value) in expected.enumerated() {
            #expect(bytes[3 * index] == value, "input \(inputs[index])")
        }
    }

    /// Planes are channel-major: R plane first, then G, then B.
    @Test func layoutIsChannelMajor() throws {
        let pixels: [UInt8] = [10, 20, 30, 40, 50, 60]  // two pixels, interleaved RGB
        let image = try pixels.withUnsafeBufferPointer { try VImage.fromPixels($0, width: 2, height: 1, bands: 3, format: .uchar) }
        let samples = try image.planarRGB().samples.map { Int(($0 * 255).rounded()) }
        #expect(samples == [10, 40, 20, 50, 30, 60])
    }

    @Test func refusesLayoutsItCannotRepresent() throws {
        let grey: [UInt8] = [1, 2, 3, 4]
        let image = try grey.withUnsafeBufferPointer { try VImage.fromPixels($0, width: 2, height: 2, bands: 1, format: .uchar) }
        #expect(throws: VipsError.self) { try image.planarRGB() }
    }
}
