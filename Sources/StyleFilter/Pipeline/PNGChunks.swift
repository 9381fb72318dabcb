/// libpng 1.6 (Debian's build sets no chunk allocation limit) allocates a metadata chunk's declared length
/// before reading it, so a 6 KB PNG whose zTXt declares 1.7 GB costs 1.7 GB (found by the images fuzzer).
/// The chunk headers in the first bytes of a PNG are walked here, before libvips reads it.
enum PNGChunks {
    /// The most a chunk other than image data may declare (ICC profiles and XMP are far smaller).
    static let metadataLimit = 64 << 20

    /// The first chunk in the PNG prefix `bytes` that is not image data and declares more than `limit`
    /// bytes (its type, printable, and length); nil when there is none in `bytes` or `bytes` is no PNG.
    static func oversizedMetadata(_ bytes: [UInt8], limit: Int = metadataLimit) -> (type: String, length: Int)? {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, bytes[0..<8].elementsEqual(signature) else { return nil }
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let typeBytes = bytes[(offset + 4)..<(offset + 8)]
            if typeBytes.elementsEqual("IEND".utf8) { return nil }
            if !typeBytes.elementsEqual("IDAT".utf8) && length > limit {
                return (printable(typeBytes), length)
            }
            offset += 12 + length  // length < 2^32: no overflow
        }
        return nil
    }
}
