import Crypto
import Foundation

/// SHA-256 of a file, read in fixed-size chunks so multi-gigabyte checkpoints never sit in memory.
enum FileDigest {
    /// Bytes read per chunk.
    static let chunkSize = 4 << 20

    /// Hex SHA-256 and byte count of the file at `path`; `progress` gets the bytes hashed so far.
    static func sha256(ofFileAt path: String, progress: ((Int64) -> Void)? = nil) throws -> (hex: String, size: Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw StyleFilterError(.missingInput, "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var hasher = SHA256()
        var total: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(fd, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw StyleFilterError(.modelNotUsable, "cannot read '\(path)': \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += Int64(count)
            progress?(total)
        }
        return (hex(hasher.finalize()), total)
    }

    /// Lower-case hex of a digest.
    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    /// Hex SHA-256 of bytes in memory (tests and small files).
    static func sha256(of data: Data) -> String { hex(SHA256.hash(data: data)) }
}
