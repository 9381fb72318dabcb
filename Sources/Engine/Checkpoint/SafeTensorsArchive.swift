import Foundation

/// A memory-mapped `.safetensors` file.
///
/// Layout: u64 little-endian header length N, N bytes of JSON
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the data buffer.
/// Aligned F32 tensors borrow the mapping; other dtypes are converted on access.
public final class SafeTensorsArchive: TensorArchive, @unchecked Sendable {
    struct Entry {
        let dtype: DType
        let shape: [Int]
        let offset: Int  // absolute, in the file
        let byteCount: Int
    }

    public let path: String
    public let tensorNames: [String]
    /// The `__metadata__` map, if any.
    public let metadata: [String: String]
    private let file: MappedFile
    private let entries: [String: Entry]

    /// Largest header the reference implementation accepts.
    static let maxHeaderBytes = 100_000_000

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let path = file.path
        self.path = path
        self.file = file
        guard let lenBytes = file.bytes(0, 8) else {
            throw CheckpointError.truncated(path: path, reason: "file is shorter than the 8-byte safetensors header length")
        }
        let headerLength = Int(UInt64(littleEndian: lenBytes.loadUnaligned(as: UInt64.self)).clamped(to: 0...UInt64(Int.max)))
        guard headerLength <= Self.maxHeaderBytes else {
            throw CheckpointError.corrupt(path: path, reason: "header length \(headerLength) exceeds \(Self.maxHeaderBytes) bytes")
        }
        guard let header = file.bytes(8, headerLength) else {
            throw CheckpointError.truncated(path: path, reason: "header of \(headerLength) bytes runs past the end of the file")
        }
        guard header.first == UInt8(ascii: "{"),
            let object = try? JSONSerialization.jsonObject(with: Data(header)), let dict = object as? [String: Any]
        else {
            throw CheckpointError.corrupt(path: path, reason: "header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataLength = file.size - dataStart
        var entries: [String: Entry] = [:]
        var order: [(String, Int)] = []
        var meta: [String: String] = [:]
        for (name, value) in dict {
            if name == "__metadata__" {
                meta = (value as? [String: String]) ?? [:]
                continue
            }
            guard let info = value as? [String: Any], let dt = info["dtype"] as? String,
                let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2
            else {
                throw CheckpointError.corrupt(path: path, reason: "malformed header entry for tensor '\(name)'")
            }
            guard let dtype = DType(rawValue: dt) else { throw CheckpointError.unsupportedDType(name: name, dtype: dt) }
            if let problem = Self.shapeProblem(shape) {
                throw CheckpointError.corrupt(path: path, reason: "tensor '\(name)' has shape \(shape): \(problem)")
            }
            // Every number here comes from the file: products are checked, never trusted.
            let (begin, end) = (offsets[0], offsets[1])
            let bytes = Self.byteCount(shape, elementSize: dtype.size)
            guard let bytes, begin >= 0, end >= begin, end - begin == bytes else {
                throw CheckpointError.corrupt(path: path, reason: "tensor '\(name)' byte range [\(begin), \(end)) does not match shape \(shape) of \(dt)")
            }
            guard end <= dataLength else {
                // (`end` is the file's number: reported relative to the data section, not added to its start)
                throw CheckpointError.truncated(
                    path: path, reason: "tensor '\(name)' ends at byte \(end) of a data section of \(dataLength) bytes (from byte \(dataStart))")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, offset: dataStart + begin, byteCount: end - begin)
            order.append((name, begin))
        }
        // The reference reader refuses overlapping ranges: one byte read as two tensors is never a writer's output.
        // Empty tensors hold no bytes, so they cannot overlap anything.
        let ranges = order.compactMap { name, begin -> (name: String, begin: Int, end: Int)? in
            let count = entries[name]!.byteCount
            return count > 0 ? (name, begin, begin + count) : nil
        }.sorted { $0.begin < $1.begin }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.begin < a.end {
            throw CheckpointError.corrupt(path: path, reason: "tensors '\(a.name)' [\(a.begin), \(a.end)) and '\(b.name)' [\(b.begin), \(b.end)) overlap")
        }
        self.entries = entries
        self.metadata = meta
        self.tensorNames = order.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.map(\.0)
    }

    /// Why a shape read from a file cannot describe a tensor (negative extent, absurd rank), or nil.
    static func shapeProblem(_ shape: [Int]) -> String? {
        if shape.count > Checkpoint.maxRank { return "rank \(shape.count) exceeds \(Checkpoint.maxRank)" }
        if shape.contains(where: { $0 < 0 }) { return "negative dimension" }
        return nil
    }

    /// Bytes of a row-major tensor of `shape`, or nil when the product overflows `Int`.
    static func byteCount(_ shape: [Int], elementSize: Int) -> Int? {
        var total = elementSize
        for extent in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            total = product
        }
        return total
    }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    /// The stored dtype of a tensor.
    public func dtype(of name: String) -> DType? { entries[name]?.dtype }

    public func tensor(named name: String) throws -> Tensor {
        guard let e = entries[name] else { throw CheckpointError.missingTensor(name: name) }
        let count = Tensor.elementCount(e.shape)
        let src = file.base + e.offset
        if e.dtype == .f32, Int(bitPattern: src) % MemoryLayout<Float>.alignment == 0, count > 0 {
            let p = UnsafeMutablePointer(mutating: src.assumingMemoryBound(to: Float.self))
            return Tensor(shape: e.shape, storage: TensorStorage(borrowing: p, count: count, owner: file))
        }
        var t = Tensor(uninitializedShape: e.shape)
        t.withUnsafeMutableBufferPointer { dst in
            if count > 0 { e.dtype.convertToFloat(src, count: count, into: dst.baseAddress!) }
        }
        return t
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
