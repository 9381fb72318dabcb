/// The Windows-1252 code page as ftfy's "sloppy-windows-1252" uses it: the five bytes Windows-1252 leaves
/// undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) map to the Latin-1 code point of the same value.
enum Windows1252 {
    /// Code points of bytes 0x80...0x9F; every other byte is its own code point.
    private static let high: [UInt32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ]

    /// Bytes whose Windows-1252 meaning is undefined (strict decoding fails on them).
    static func isUndefined(_ byte: UInt8) -> Bool {
        byte == 0x81 || byte == 0x8D || byte == 0x8F || byte == 0x90 || byte == 0x9D
    }

    static func sloppyDecode(_ byte: UInt8) -> Unicode.Scalar {
        (0x80...0x9F).contains(byte) ? Unicode.Scalar(high[Int(byte) - 0x80])! : Unicode.Scalar(byte)
    }

    private static let encoder: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        for byte in 0...255 { table[sloppyDecode(UInt8(byte)).value] = UInt8(byte) }
        return table
    }()

    /// The byte that decodes to `scalar`, or nil when the code page cannot represent it.
    static func sloppyEncode(_ scalar: Unicode.Scalar) -> UInt8? { encoder[scalar.value] }
}
