import CZlib

/// A read-only zip archive over a memory-mapped file (the container of `torch.save` and TorchScript files).
///
/// Reads the central directory (ZIP64 included) and resolves each record's data through its *local* header,
/// because PyTorch pads data to 64 bytes with a local extra field that the central directory does not repeat.
/// STORED records are borrowed straight from the mapping; DEFLATE records are inflated with zlib on request.
final class ZipArchive: @unchecked Sendable {
    enum Method: Equatable { case stored, deflated }

    struct Entry {
        let name: String
        let method: Method
        let crc32: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        /// Absolute file offset of the record's (possibly compressed) bytes.
        let dataOffset: Int
    }

    let file: MappedFile
    var path: String { file.path }
    /// Entries in central-directory order.
    let entries: [Entry]
    private let index: [String: Int]

    convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        self.file = file
        let reader = ZipStructureReader(file: file)
        let entries = try reader.readEntries()
        var index: [String: Int] = [:]
        for (i, e) in entries.enumerated() where index[e.name] == nil { index[e.name] = i }
        self.entries = entries
        self.index = index
    }

    /// The entry called `name`, if any.
    func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// The record's bytes inside the mapping; nil for a compressed record.
    func mappedBytes(_ entry: Entry) -> UnsafeRawBufferPointer? {
        guard entry.method == .stored else { return nil }
        return file.bytes(entry.dataOffset, entry.uncompressedSize)
    }

    /// Largest record inflated into memory: more than any one storage of the supported models (the 2.2 GB
    /// U-Net saved as one flat buffer), far less than a declared size a hostile file could make up.
    static let maxInflatedBytes = 1 << 32
    /// Deflate's best possible ratio: a 258-byte match coded in 2 bits. A record that declares more plain
    /// bytes than this allows for its compressed size is lying, which is caught before anything is allocated.
    static let maxDeflateRatio = 1032

    /// The record's bytes with its CRC-32 checked, borrowed (STORED) or inflated (DEFLATE), handed to `body`.
    /// A record declaring more than `limit` bytes is refused before anything is read or allocated.
    func withVerifiedBytes<R>(_ entry: Entry, limit: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try checkSize(entry, limit: limit)
        if let mapped = mappedBytes(entry) {
            try checkCRC(entry, mapped)
            return try body(mapped)
        }
        let record = try inflate(entry)
        return try body(record.bytes)
    }

    /// Reads a small record (at most `limit` bytes) into an array and verifies its CRC-32.
    func readVerified(_ entry: Entry, limit: Int = 1 << 20) throws -> [UInt8] {
        try withVerifiedBytes(entry, limit: limit) { Array($0) }
    }

    /// A DEFLATE record inflated into fresh memory (CRC-checked), which tensors may borrow.
    func inflated(_ entry: Entry) throws -> InflatedRecord {
        try checkSize(entry, limit: Self.maxInflatedBytes)
        return try inflate(entry)
    }

    private func checkSize(_ entry: Entry, limit: Int) throws {
        guard entry.uncompressedSize <= limit else {
            throw CheckpointError.corrupt(path: path, reason: "record '\(entry.name)' declares \(entry.uncompressedSize) bytes, more than the \(limit) allowed for it")
        }
    }

    private func checkCRC(_ entry: Entry, _ bytes: UnsafeRawBufferPointer) throws {
        guard Self.crc32(bytes.bindMemory(to: UInt8.self)) == entry.crc32 else {
            throw CheckpointError.corrupt(path: path, reason: "record '\(entry.name)' fails its CRC-32 check")
        }
    }

    static func crc32(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var crc: uLong = CZlib.crc32(0, nil, 0)
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, Int(UInt32.max >> 1))
            crc = CZlib.crc32(crc, bytes.baseAddress! + offset, uInt(n))
            offset += n
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    /// Inflates into a buffer of the declared size (one spare byte detects overlong streams), so the output
    /// can never exceed it: a bomb stops at its declaration. The buffer is not zero-filled, so memory is only
    /// touched as far as the stream really inflates.
    private func inflate(_ entry: Entry) throws -> InflatedRecord {
        guard let source = file.bytes(entry.dataOffset, entry.compressedSize) else {
            throw CheckpointError.truncated(path: path, reason: "record '\(entry.name)' runs past the end of the file")
        }
        let out = InflatedRecord(capacity: entry.uncompressedSize + 1)
        var stream = z_stream()
        // -15: raw deflate (zip records carry no zlib header). inflateInit2 is a macro, so call the function.
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw CheckpointError.unreadable(path: path, reason: "zlib could not start inflating '\(entry.name)'")
        }
        defer { inflateEnd(&stream) }
        var status: Int32 = Z_OK
        var produced = 0
        let input = source.baseAddress.map { UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: Bytef.self)) }
        let output = out.pointer.assumingMemoryBound(to: Bytef.self)
        var consumed = 0
        let chunk = 1 << 30  // zlib counts in 32 bits: feed and drain in bounded chunks
        while status == Z_OK {
            let inCount = min(chunk, source.count - consumed)
            let outCount = min(chunk, out.capacity - produced)
            stream.next_in = input.map { $0 + consumed }
            stream.avail_in = uInt(inCount)
            stream.next_out = output + produced
            stream.avail_out = uInt(outCount)
            status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let used = inCount - Int(stream.avail_in), made = outCount - Int(stream.avail_out)
            consumed += used
            produced += made
            // Z_BUF_ERROR only means "no progress possible now"; stop unless this round moved data.
            if status == Z_BUF_ERROR { status = (used > 0 || made > 0) ? Z_OK : Z_BUF_ERROR }
        }
        guard status == Z_STREAM_END, produced == entry.uncompressedSize else {
            throw CheckpointError.corrupt(path: path, reason: "record '\(entry.name)' does not inflate to its declared \(entry.uncompressedSize) bytes")
        }
        out.count = produced
        try checkCRC(entry, out.bytes)
        return out
    }
}

/// An inflated zip record: 64-byte aligned memory that float32 tensors can borrow (`TensorStorage` keeps this
/// object alive), so a compressed weight is not copied a second time.
final class InflatedRecord: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let capacity: Int
    /// Bytes written.
    fileprivate(set) var count = 0

    fileprivate init(capacity: Int) {
        self.capacity = capacity
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1), alignment: 64)
    }

    deinit { pointer.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: pointer, count: count) }
}

/// Parses the end-of-central-directory records, the central directory and each local header.
private struct ZipStructureReader {
    let file: MappedFile
    var path: String { file.path }

    static let eocdSignature: UInt32 = 0x0605_4b50
    static let zip64LocatorSignature: UInt32 = 0x0706_4b50
    static let zip64EOCDSignature: UInt32 = 0x0606_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let localSignature: UInt32 = 0x0403_4b50

    func u16(_ o: Int) -> Int { Int(UInt16(littleEndian: file.base.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
    func u32(_ o: Int) -> UInt32 { UInt32(littleEndian: file.base.loadUnaligned(fromByteOffset: o, as: UInt32.self)) }
    func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: file.base.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }

    func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }
    func truncated(_ reason: String) -> CheckpointError { .truncated(path: path, reason: reason) }

    /// An offset or size read from the file, checked to be a usable `Int`.
    func checked(_ v: UInt64, _ what: String) throws -> Int {
        guard v <= UInt64(Int.max / 2) else { throw corrupt("\(what) \(v) is out of range") }
        return Int(v)
    }

    func findEOCD() throws -> Int {
        let size = file.size
        guard size >= 22 else { throw truncated("shorter than a zip end-of-central-directory record") }
        // The record is 22 bytes plus a comment of at most 65535 bytes; scan backwards.
        let lowest = max(0, size - 22 - 65535)
        var o = size - 22
        while o >= lowest {
            if u32(o) == Self.eocdSignature, o + 22 + u16(o + 20) == size { return o }
            o -= 1
        }
        throw truncated("no zip end-of-central-directory record (the file was probably cut short)")
    }

    func readEntries() throws -> [ZipArchive.Entry] {
        let eocd = try findEOCD()
        var count = u16(eocd + 10)
        var cdSize = Int(u32(eocd + 12))
        var cdOffset = Int(u32(eocd + 16))
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0 else { throw corrupt("multi-disk zip archives are not supported") }
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF || (eocd >= 20 && u32(eocd - 20) == Self.zip64LocatorSignature) {
            guard eocd >= 20, u32(eocd - 20) == Self.zip64LocatorSignature else {
                throw corrupt("ZIP64 sizes announced but no ZIP64 locator found")
            }
            let z = try checked(u64(eocd - 20 + 8), "ZIP64 end record offset")
            guard z <= file.size - 56, u32(z) == Self.zip64EOCDSignature else {
                throw corrupt("ZIP64 end-of-central-directory record missing or damaged")
            }
            count = try checked(u64(z + 32), "entry count")
            cdSize = try checked(u64(z + 40), "central directory size")
            cdOffset = try checked(u64(z + 48), "central directory offset")
        }
        guard cdOffset <= file.size, cdSize <= file.size - cdOffset else {
            throw truncated("central directory [\(cdOffset), +\(cdSize)) lies beyond the end of the \(file.size)-byte file")
        }
        // Each directory entry takes at least 46 bytes: a count the directory cannot hold is refused before
        // anything is reserved for it.
        guard count <= cdSize / 46 else {
            throw corrupt("the central directory of \(cdSize) bytes cannot hold the \(count) entries it announces")
        }
        var entries: [ZipArchive.Entry] = []
        entries.reserveCapacity(count)
        var o = cdOffset
        let end = cdOffset + cdSize
        for i in 0..<count {
            guard o + 46 <= end, u32(o) == Self.centralSignature else {
                throw corrupt("central directory entry \(i) of \(count) is damaged")
            }
            let flags = u16(o + 8)
            let methodCode = u16(o + 10)
            let crc = u32(o + 16)
            var compressed = UInt64(u32(o + 20))
            var uncompressed = UInt64(u32(o + 24))
            let nameLength = u16(o + 28), extraLength = u16(o + 30), commentLength = u16(o + 32)
            var localOffset = UInt64(u32(o + 42))
            let recordEnd = o + 46 + nameLength + extraLength + commentLength
            guard recordEnd <= end else { throw corrupt("central directory entry \(i) runs past the directory") }
            let nameBytes = UnsafeRawBufferPointer(start: file.base + o + 46, count: nameLength)
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw corrupt("central directory entry \(i) has a name that is not UTF-8")
            }
            // ZIP64 extended information (id 1): only the fields whose 32-bit slot is saturated, in this order.
            var e = o + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e), size = u16(e + 2)
                let body = e + 4
                guard body + size <= extraEnd else { throw corrupt("entry '\(name)' has a malformed extra field") }
                if id == 1 {
                    var p = body
                    func next() throws -> UInt64 {
                        guard p + 8 <= body + size else { throw corrupt("entry '\(name)' has a short ZIP64 field") }
                        defer { p += 8 }
                        return u64(p)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                    if compressed == 0xFFFF_FFFF { compressed = try next() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                }
                e = body + size
            }
            o = recordEnd
            if name.hasSuffix("/") && uncompressed == 0 { continue }  // directory entry
            guard flags & 1 == 0 else { throw CheckpointError.unsupportedFormat(path: path, reason: "zip record '\(name)' is encrypted") }
            let method: ZipArchive.Method
            switch methodCode {
            case 0: method = .stored
            case 8: method = .deflated
            default:
                throw CheckpointError.unsupportedFormat(path: path, reason: "zip record '\(name)' uses compression method \(methodCode) (only stored and deflate are supported)")
            }
            let csize = try checked(compressed, "compressed size of '\(name)'")
            let usize = try checked(uncompressed, "size of '\(name)'")
            if method == .stored, csize != usize { throw corrupt("stored record '\(name)' has different compressed and plain sizes") }
            let (deflateBound, overflow) = csize.multipliedReportingOverflow(by: ZipArchive.maxDeflateRatio)
            if method == .deflated, !overflow, usize - 1024 > deflateBound {
                throw corrupt("record '\(name)' declares \(usize) bytes from \(csize) compressed bytes, more than deflate can produce")
            }
            let local = try checked(localOffset, "local header offset of '\(name)'")
            guard local <= file.size - 30 else { throw truncated("record '\(name)' starts beyond the end of the file") }
            guard u32(local) == Self.localSignature else { throw corrupt("record '\(name)' has no local header where the directory says") }
            // Data follows the local header's own name and extra field (PyTorch's 64-byte padding lives there).
            let dataOffset = local + 30 + u16(local + 26) + u16(local + 28)
            guard dataOffset <= file.size, csize <= file.size - dataOffset else {
                throw truncated("record '\(name)' (\(csize) bytes at offset \(dataOffset)) runs past the end of the \(file.size)-byte file")
            }
            entries.append(.init(name: name, method: method, crc32: crc, compressedSize: csize, uncompressedSize: usize, dataOffset: dataOffset))
        }
        return entries
    }
}
