/// The size a netpbm header (P1-P7, PF, Pf) declares, as written. libvips 8.14 reads the numbers into
/// 32-bit integers without a range check, so `4294967297 4294967297` becomes a 1x1 image; comparing
/// the digits with what libvips reports catches any such wrap.
enum PNMHeader {
    /// The width and height digits of a PNM header at the start of `bytes`, or nil when `bytes` is no
    /// PNM header (or the header is cut short: the loader then says what is wrong).
    static func declaredSize(_ bytes: [UInt8]) -> (width: Substring, height: Substring)? {
        guard bytes.count > 2, bytes[0] == UInt8(ascii: "P"), "1234567fF".utf8.contains(bytes[1]) else { return nil }
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
            guard !token.isEmpty, token.allSatisfy(\.isNumber) else { return nil }
            tokens.append(token)
            rest = rest.dropFirst(token.count)
        }
        return (tokens[0], tokens[1])
    }
}
