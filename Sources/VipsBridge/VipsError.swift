import CVips

/// A libvips failure, carrying libvips' own error text folded into one line.
public struct VipsError: Error, CustomStringConvertible, Sendable {
    /// One-line description (libvips' error lines joined with "; ").
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// Takes (and clears) libvips' shared error buffer and builds an error prefixed with `context`.
    static func fromBuffer(_ context: String) -> VipsError {
        VipsError("\(context): \(takeBuffer(or: "unknown libvips error"))")
    }

    /// Takes (and clears) libvips' shared error buffer. Savers add a generic "unable to write to target"
    /// line after the real cause (e.g. a decode error upstream); it is dropped when a cause precedes it.
    static func fromBuffer() -> VipsError {
        let lines = takeBuffer(or: "unknown libvips error").split(separator: "; ").map(String.init)
        let causes = lines.filter { !$0.contains("unable to write to target") && !$0.contains("unable to call") }
        return VipsError((causes.isEmpty ? lines : causes).joined(separator: "; "))
    }

    /// Copies and clears libvips' error buffer; multi-line text is joined into one line.
    static func takeBuffer(or fallback: String) -> String {
        guard let raw = vips_error_buffer_copy() else { return fallback }
        defer { g_free(raw) }
        let lines = String(cString: raw).split(separator: "\n").map { $0.trimmingCharacters() }
            .filter { !$0.isEmpty }
        return lines.isEmpty ? fallback : lines.joined(separator: "; ")
    }
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        var text = self
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}
