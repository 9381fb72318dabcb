/// What a netpbm header (P1-P6, PF, Pf) declares, as written, for the two ways libvips 8.14 goes wrong
/// on hostile ones: it reads the numbers with `atoi` into 32-bit integers, so `4294967297 4294967297`
/// becomes a 1x1 image and `p2` a width of 0 (comparing the digits with what libvips reports catches
/// both); and it reads a plain (ASCII) file that ends early with one failed read per missing sample, so
/// 13 bytes declaring 1x8888888 take minutes (``minimumPlainBytes(width:height:)`` lets the chain refuse them at once).
struct PNMHeader {
    /// The format letter after `P`: `1`-`6`, `F` or `f`.
    let magic: UInt8
    let width: Substring
    let height: Substring

    /// Whether the samples are written as text (P1 bitmap, P2 greymap, P3 pixmap).
    var isPlain: Bool { magic == UInt8(ascii: "1") || magic == UInt8(ascii: "2") || magic == UInt8(ascii: "3") }

    /// The fewest bytes the data of a plain file of `width` x `height` can take: a character per P1
    /// pixel (bits need no separator), a digit and a separator per P2/P3 sample. Nil on overflow.
    func minimumPlainBytes(width: Int, height: Int) -> Int? {
        let (pixels, o1) = width.multipliedReportingOverflow(by: height)
        guard !o1 else { return nil }
        switch magic {
        case UInt8(ascii: "1"): return pixels
        case UInt8(ascii: "2"): return pixels.multipliedReportingOverflow(by: 2).overflow ? nil : 2 * pixels - 1
        default: return pixels.multipliedReportingOverflow(by: 6).overflow ? nil : 6 * pixels - 1
        }
    }

    enum Parsed {
        case declared(PNMHeader)
        /// A size token that is not a positive decimal number.
        case malformed(String)
        /// Whitespace and comments fill everything read without both sizes (the header runs on past it).
        case unfinished
    }

    /// The header at the start of `bytes`, or nil when `bytes` is no netpbm header this checks (P7), or
    /// the whole input (`complete`) ends inside the header: the loader then says what is wrong, at once,
    /// as there is no data to read. A token reaching the end of an incomplete `bytes` is checked as far
    /// as it goes (a cut never makes a bad size good), so a hostile header cannot hide by ending there.
    static func parse(_ bytes: [UInt8], complete: Bool) -> Parsed? {
        guard bytes.count > 2, bytes[0] == UInt8(ascii: "P"), "123456fF".utf8.contains(bytes[1]) else { return nil }
        let text = Substring(decoding: bytes.dropFirst(2), as: UTF8.self)
        var tokens: [Substring] = []
        var rest = text[...]
        while tokens.count < 2 {
            rest = rest.drop { $0.isWhitespace }
            if rest.first == "#" {
                rest = rest.drop { $0 != "\n" }
                continue
            }
            let token = rest.prefix { !$0.isWhitespace && $0 != "#" }
            if token.isEmpty { return complete ? nil : .unfinished }
            rest = rest.dropFirst(token.count)
            guard token.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .malformed(printable(token.utf8.prefix(16))) }
            // Digits up to the end of what was read may go on: the size is not known yet.
            if rest.isEmpty && !complete { return .unfinished }
            guard token.contains(where: { $0 != "0" }) else { return .malformed(printable(token.utf8.prefix(16))) }
            tokens.append(token)
        }
        return .declared(PNMHeader(magic: bytes[1], width: tokens[0], height: tokens[1]))
    }
}
