import CZlib
import Foundation

/// A minimal zip writer for checkpoint tests: STORED or DEFLATE records, PyTorch-style 64-byte data
/// alignment through a local-header padding field (absent from the central directory), ZIP64 end records,
/// and optionally ZIP64 extra fields with saturated 32-bit slots in the central directory.
struct ZipWriter {
    struct Options {
        var deflate = false
        /// Writes 0xFFFFFFFF in the central directory's size/offset slots and the real values in a ZIP64 extra field.
        var zip64Fields = false
        /// Pads each record's data start to this boundary through the local extra field (PyTorch uses 64).
        var alignment = 64
    }

    private(set) var records: [(name: String, data: [UInt8])] = []

    mutating func add(_ name: String, _ data: [UInt8]) { records.append((name, data)) }
    mutating func add(_ name: String, _ text: String) { records.append((name, Array(text.utf8))) }

    func bytes(_ options: Options = Options()) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func put16(_ v: Int, _ b: inout [UInt8]) { b += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func put32(_ v: UInt32, _ b: inout [UInt8]) { for i in 0..<4 { b.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) } }
        func put64(_ v: Int, _ b: inout [UInt8]) { for i in 0..<8 { b.append(UInt8((UInt64(v) >> (8 * UInt64(i))) & 0xFF)) } }

        for (name, data) in records {
            let crc = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            let payload = options.deflate ? Self.rawDeflate(data) : data
            let method = options.deflate ? 8 : 0
            let nameBytes = Array(name.utf8)
            let localOffset = out.count
            // Padding extra field ("FB" + length + 'Z's) so that data starts on an alignment boundary.
            var pad = (options.alignment - (out.count + 30 + nameBytes.count + 4) % options.alignment) % options.alignment
            if options.alignment <= 1 { pad = -1 }
            var extra: [UInt8] = []
            if pad >= 0 {
                extra = [0x46, 0x42]
                put16(pad, &extra)
                extra += [UInt8](repeating: 0x5A, count: pad)
            }
            put32(0x0403_4b50, &out)
            put16(20, &out); put16(0, &out); put16(method, &out); put16(0, &out); put16(0x21, &out)
            put32(crc, &out); put32(UInt32(payload.count), &out); put32(UInt32(data.count), &out)
            put16(nameBytes.count, &out); put16(extra.count, &out)
            out += nameBytes
            out += extra
            out += payload

            var cextra: [UInt8] = []
            if options.zip64Fields {
                put16(1, &cextra); put16(24, &cextra)
                put64(data.count, &cextra); put64(payload.count, &cextra); put64(localOffset, &cextra)
            }
            put32(0x0201_4b50, &central)
            put16(45, &central); put16(45, &central); put16(0, &central); put16(method, &central); put16(0, &central); put16(0x21, &central)
            put32(crc, &central)
            put32(options.zip64Fields ? 0xFFFF_FFFF : UInt32(payload.count), &central)
            put32(options.zip64Fields ? 0xFFFF_FFFF : UInt32(data.count), &central)
            put16(nameBytes.count, &central); put16(cextra.count, &central); put16(0, &central)
            put16(0, &central); put16(0, &central); put32(0, &central)
            put32(options.zip64Fields ? 0xFFFF_FFFF : UInt32(localOffset), &central)
            central += nameBytes
            central += cextra
        }
        let cdOffset = out.count
        out += central
        // ZIP64 end record and locator (PyTorch always writes them), then the classic end record.
        let z64 = out.count
        put32(0x0606_4b50, &out); put64(44, &out); put16(45, &out); put16(45, &out); put32(0, &out); put32(0, &out)
        put64(records.count, &out); put64(records.count, &out); put64(central.count, &out); put64(cdOffset, &out)
        put32(0x0706_4b50, &out); put32(0, &out); put64(z64, &out); put32(1, &out)
        put32(0x0605_4b50, &out); put16(0, &out); put16(0, &out)
        put16(options.zip64Fields ? 0xFFFF : records.count, &out); put16(options.zip64Fields ? 0xFFFF : records.count, &out)
        put32(options.zip64Fields ? 0xFFFF_FFFF : UInt32(central.count), &out)
        put32(options.zip64Fields ? 0xFFFF_FFFF : UInt32(cdOffset), &out)
        put16(0, &out)
        return out
    }

    /// Raw DEFLATE (no zlib header or trailer), as zip records store it.
    static func rawDeflate(_ data: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 16)
        var input = data
        let produced: Int = input.withUnsafeMutableBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return dst.count - Int(stream.avail_out)
            }
        }
        return Array(out[0..<produced])
    }
}

/// Writes files into a fresh temporary folder for one test.
struct TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-ckpt-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(bytes).write(to: file)
        return file.path
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
