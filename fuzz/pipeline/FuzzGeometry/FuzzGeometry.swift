@testable import StyleFilter

/// The geometry parsers of the command line (`WxH`, `WxH+X+Y`, `R,G,B`) on arbitrary text: a clean
/// error or a value in range, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGeometry(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let size = try? Geometry.parseSize(text) {
        precondition([size.width, size.height].allSatisfy { $0 == nil || (1...Geometry.maximumSide).contains($0!) })
    }
    _ = try? Geometry.parseFullSize(text)
    if let rectangle = try? Geometry.parseRectangle(text) {
        precondition([rectangle.x, rectangle.y].allSatisfy { $0 == nil || (0...Geometry.maximumSide).contains($0!) })
    }
    if let colour = try? Geometry.parseColour(text) { precondition(colour.allSatisfy { $0.isFinite && $0 >= 0 }) }
    return 0
}
