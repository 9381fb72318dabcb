/// Parsers for the geometry strings of the command line (ImageMagick style).
package enum Geometry {
    /// The longest side and the largest offset a geometry may give, in pixels (also what keeps the
    /// arithmetic on them far from overflow).
    package static let maximumSide = 10_000_000

    /// `WxH`, `Wx` or `xH` (a missing side is unconstrained).
    package static func parseSize(_ text: String) throws -> (width: Int?, height: Int?) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        guard parts.count == 2, !(parts[0].isEmpty && parts[1].isEmpty) else {
            throw StyleFilterError(.usage, "'\(text)' is not a size; expected WxH, Wx or xH (e.g. 512x512)")
        }
        return (try side(parts[0], in: text), try side(parts[1], in: text))
    }

    /// `WxH` with both sides.
    package static func parseFullSize(_ text: String) throws -> (width: Int, height: Int) {
        let (width, height) = try parseSize(text)
        guard let width, let height else {
            throw StyleFilterError(.usage, "'\(text)' needs both sides, e.g. 256x256")
        }
        return (width, height)
    }

    /// `WxH+X+Y` (offset optional: `WxH`).
    package static func parseRectangle(_ text: String) throws -> (width: Int, height: Int, x: Int?, y: Int?) {
        let pieces = text.split(separator: "+", omittingEmptySubsequences: false)
        guard pieces.count == 1 || pieces.count == 3 else {
            throw StyleFilterError(.usage, "'\(text)' is not a crop geometry; expected WxH+X+Y (e.g. 256x256+0+0)")
        }
        let (width, height) = try parseFullSize(String(pieces[0]))
        guard pieces.count == 3 else { return (width, height, nil, nil) }
        guard let x = Int(pieces[1]), let y = Int(pieces[2]), (0...maximumSide).contains(x), (0...maximumSide).contains(y) else {
            throw StyleFilterError(.usage, "'\(text)' has a bad offset; expected +X+Y with X, Y in 0...\(maximumSide)")
        }
        return (width, height, x, y)
    }

    /// `R,G,B` (or one value, or any count) of non-negative numbers.
    package static func parseColour(_ text: String) throws -> [Double] {
        let values = text.split(separator: ",").map { Double($0.trimmingCharacters()) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw StyleFilterError(.usage, "'\(text)' is not a colour; expected R,G,B (e.g. 255,255,255)")
        }
        return values.map { $0! }
    }

    private static func side(_ part: Substring, in text: String) throws -> Int? {
        if part.isEmpty { return nil }
        guard let value = Int(part), value > 0, value <= maximumSide else {
            throw StyleFilterError(.usage, "'\(text)' has a bad side '\(part)'; sides are 1...\(maximumSide) pixels")
        }
        return value
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> Substring {
        var text = self
        while text.first?.isWhitespace == true { text.removeFirst() }
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
