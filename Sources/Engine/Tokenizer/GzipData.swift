import CZlib
import Foundation

/// Decompresses a whole gzip member in memory with zlib (the vocabulary file is small: 1.4 MB → 1.7 MB).
enum GzipData {
    static func decompress(_ compressed: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        // 15 + 16: largest window, expect a gzip header and trailer rather than a zlib one.
        var status = inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw TokenizerError.vocabulary(reason: "zlib inflateInit2 failed (\(status))") }
        defer { inflateEnd(&stream) }

        var output = [UInt8]()
        output.reserveCapacity(compressed.count * 2)
        let chunkSize = 1 << 18
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try compressed.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return chunkSize - Int(stream.avail_out)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    let message = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    throw TokenizerError.vocabulary(reason: "gzip data is corrupt: \(message)")
                }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_OK && produced == 0 && stream.avail_in == 0 {
                    throw TokenizerError.vocabulary(reason: "gzip data is truncated")
                }
            } while status != Z_STREAM_END
        }
        return output
    }
}
