import Testing

@testable import StyleFilter

@Suite("Geometry strings")
struct GeometryTests {
    @Test func sizes() throws {
        #expect(try Geometry.parseSize("512x384") == (512, 384))
        #expect(try Geometry.parseSize("512x") == (512, nil))
        #expect(try Geometry.parseSize("x300") == (nil, 300))
        #expect(try Geometry.parseSize("64X64") == (64, 64))
        for bad in ["x", "512", "0x10", "-5x5", "axb", "10x10x10", ""] {
            #expect(throws: StyleFilterError.self, "\(bad)") { try Geometry.parseSize(bad) }
        }
    }

    @Test func rectangles() throws {
        #expect(try Geometry.parseRectangle("256x128+10+20") == (256, 128, 10, 20))
        #expect(try Geometry.parseRectangle("256x128") == (256, 128, nil, nil))
        for bad in ["256x128+10", "256x+0+0", "256x128+-1+0", "256x128+a+0"] {
            #expect(throws: StyleFilterError.self, "\(bad)") { try Geometry.parseRectangle(bad) }
        }
    }

    @Test func colours() throws {
        #expect(try Geometry.parseColour("255,128,0") == [255, 128, 0])
        #expect(try Geometry.parseColour("7") == [7])
        #expect(throws: StyleFilterError.self) { try Geometry.parseColour("red") }
        #expect(throws: StyleFilterError.self) { try Geometry.parseColour("1,-2,3") }
    }
}
