/// A `torch.save` file in the legacy format (PyTorch before 1.6, or `_use_new_zipfile_serialization=False`):
/// no zip, but pickles back to back, then the raw storages.
///
/// Layout: pickle(magic number 0x1950a86a20f9469cfc6c) · pickle(protocol version 1001) · pickle(sys_info dict)
/// · main pickle (the saved object; storages are persistent ids `('storage', torch.XStorage, root_key,
/// location, numel, view_metadata)`, view_metadata None or `(view_key, offset, size)` in elements) ·
/// pickle(list of root keys) · per listed key, in that order: an 8-byte element count, then the elements.
///
/// Every pickle goes through `SafeUnpickler`, the same allow-list as the zip reader: loading never runs code
/// from the file, and a pickled `nn.Module` (not a state dict) is refused by its class name.
///
/// Byte order: PyTorch's storage writer has always converted elements to little-endian, whatever the
/// machine, so storages are read as little-endian. The element count before each storage was written in the
/// machine's own order by old releases, so for a file whose sys_info says big-endian a byte-swapped count is
/// accepted too. Type sizes: sys_info's `short`/`int`/`long` are the writer's C type sizes; a file from a
/// platform other than short=2, int=4, long=4 or 8 is refused. Storage element widths come from the storage
/// class (`LongStorage` is int64 even where C `long` is 4 bytes, as PyTorch's own loader assumes).
///
/// Memory: as with `TorchZipArchive`, the file is mapped once and a contiguous float32 tensor whose bytes
/// happen to be 4-byte aligned in the file is returned borrowing the mapping (no copy). The pickles before
/// the data have arbitrary lengths, so alignment is luck of the file; misaligned tensors are converted into
/// fresh storage on access, one tensor at a time (the mapped pages stay clean and reclaimable).
public final class LegacyTorchArchive: TensorArchive, @unchecked Sendable {
    /// One root storage's data in the file.
    struct StorageRecord {
        let typeName: String
        let elementSize: Int
        let numel: Int
        /// File offset of the first element (just past the 8-byte count).
        let dataOffset: Int
    }

    struct Entry {
        let dtype: DType?
        let dtypeName: String
        let shape: [Int]
        let strides: [Int]
        /// File offset of the tensor's storage window (its root storage's data plus any view offset).
        let windowOffset: Int
        /// Tensor storage offset in elements of `dtype`, counted from `windowOffset`.
        let offset: Int
    }

    public let path: String
    public let tensorNames: [String]
    let file: MappedFile
    /// sys_info's `little_endian`: the byte order of the machine that wrote the file.
    let writerIsLittleEndian: Bool
    /// sys_info's `type_sizes` (`short`, `int`, `long` in bytes).
    let typeSizes: [String: Int]
    let storages: [String: StorageRecord]
    private let entries: [String: Entry]

    /// The magic number as the 10 little-endian two's-complement bytes of its LONG1 opcode.
    static let magicNumber: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let protocolVersion = 1001

    /// Opens and indexes the file; tensor bytes are read on access.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    /// The offset just past the magic-number pickle at the start of `bytes` (PROTO 2–5, an optional FRAME,
    /// LONG1 of the magic, STOP), or nil when `bytes` does not start with one.
    static func magicPickleEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 2, bytes[0] == 0x80, (2...5).contains(bytes[1]) else { return nil }
        var i = 2
        if bytes.count > i, bytes[i] == 0x95 { i += 9 }  // FRAME + 8-byte length (protocol 4+)
        guard bytes.count >= i + 13, bytes[i] == 0x8A, bytes[i + 1] == 10,
            magicNumber.indices.allSatisfy({ bytes[i + 2 + $0] == magicNumber[$0] }), bytes[i + 12] == 0x2E
        else { return nil }
        return i + 13
    }

    init(file: MappedFile) throws {
        let path = file.path
        let all = UnsafeRawBufferPointer(start: file.base, count: file.size)
        guard var pos = Self.magicPickleEnd(all) else {
            throw CheckpointError.unsupportedFormat(path: path, reason: "it does not start with the legacy torch.save magic number")
        }
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: reason) }

        /// Unpickles the pickle at `pos` and moves `pos` past it.
        func unpickle<R>(_ what: String, persistentLoad: ((PickleValue) throws -> PickleValue)? = nil, _ body: (PickleValue) throws -> R) throws -> R {
            guard pos < all.count else { throw CheckpointError.truncated(path: path, reason: "the file ends before the \(what)") }
            let unpickler = SafeUnpickler(path: path, record: "\(what) (from byte \(pos))") { pid in
                guard let persistentLoad else { throw corrupt("the \(what) holds a persistent id (\(pid.kind))") }
                return try persistentLoad(pid)
            }
            let (result, end) = try unpickler.load(UnsafeRawBufferPointer(rebasing: all[pos...])) { root, end in (try body(root), end) }
            pos += end
            return result
        }

        let version = try unpickle("protocol version pickle") { v -> Int? in if case .int(let i) = v { return i } else { return nil } }
        guard version == Self.protocolVersion else {
            throw CheckpointError.unsupportedFormat(
                path: path, reason: "legacy torch.save protocol version \(version.map(String.init) ?? "missing"); only \(Self.protocolVersion) is known")
        }

        let (littleEndian, typeSizes) = try unpickle("sys_info pickle") { v -> (Bool, [String: Int]) in
            guard case .dict(let d) = v else { throw corrupt("sys_info is a \(v.kind), not a dict") }
            func field(_ name: String) throws -> PickleValue {
                guard let e = d.entries.first(where: { if case .string(name) = $0.key { return true } else { return false } }) else {
                    throw corrupt("sys_info lacks '\(name)'")
                }
                return e.value
            }
            guard case .int(Self.protocolVersion) = try field("protocol_version") else {
                throw corrupt("sys_info's protocol_version is not \(Self.protocolVersion)")
            }
            guard case .bool(let little) = try field("little_endian") else { throw corrupt("sys_info's little_endian is not a bool") }
            guard case .dict(let sizesDict) = try field("type_sizes") else { throw corrupt("sys_info's type_sizes is not a dict") }
            var sizes: [String: Int] = [:]
            for e in sizesDict.entries {
                guard case .string(let k) = e.key, case .int(let n) = e.value else { throw corrupt("sys_info's type_sizes holds a non-integer entry") }
                sizes[k] = n
            }
            return (little, sizes)
        }
        let expected: [(String, Set<Int>)] = [("short", [2]), ("int", [4]), ("long", [4, 8])]
        for (type, allowed) in expected where !allowed.contains(typeSizes[type] ?? -1) {
            let found = expected.map { "\($0.0)=\(typeSizes[$0.0].map(String.init) ?? "?")" }.joined(separator: ", ")
            throw CheckpointError.unsupportedFormat(path: path, reason: "written on a platform with C type sizes \(found); only short=2, int=4, long=4 or 8 are read")
        }

        // Root storages and views, deduplicated by key: several tensors may share a storage.
        var roots: [String: (typeName: String, numel: Int)] = [:]
        var views: [String: (root: String, offset: Int, size: Int)] = [:]
        let found = try unpickle("main pickle", persistentLoad: { pid in
            guard case .tuple(let tuple) = pid, case let t = tuple.items, case .string(let kind)? = t.first else {
                throw corrupt("main pickle: persistent id is a \(pid.kind), not a tuple")
            }
            if kind == "module" {
                throw CheckpointError.unsupportedFormat(path: path, reason: "the file pickles a whole nn.Module, not a state dict; save model.state_dict() instead")
            }
            guard kind == "storage", t.count == 6 else {
                throw corrupt("main pickle: persistent id is not a ('storage', type, root_key, location, numel, view_metadata) tuple")
            }
            guard case .global(.storageType(let typeName)) = t[1], case .string(let rootKey) = t[2],
                case .string(let location) = t[3], case .int(let numel) = t[4], numel >= 0
            else { throw corrupt("main pickle: malformed storage persistent id") }
            if let seen = roots[rootKey], seen != (typeName, numel) {
                throw corrupt("main pickle: storage '\(rootKey)' is declared twice with different types or sizes")
            }
            roots[rootKey] = (typeName, numel)
            switch t[5] {
            case .none:
                return .storage(PickleStorage(typeName: typeName, key: rootKey, location: location, numel: numel))
            case .tuple(let tuple) where tuple.items.count == 3:
                let v = tuple.items
                guard case .string(let viewKey) = v[0], case .int(let offset) = v[1], case .int(let size) = v[2] else {
                    throw corrupt("main pickle: malformed view_metadata of storage '\(rootKey)'")
                }
                guard offset >= 0, size >= 0, offset <= numel, size <= numel - offset else {
                    throw corrupt("main pickle: view '\(viewKey)' (offset \(offset), size \(size)) lies outside its \(numel)-element storage '\(rootKey)'")
                }
                if let seen = views[viewKey], seen != (rootKey, offset, size) {
                    throw corrupt("main pickle: view '\(viewKey)' is declared twice differently")
                }
                views[viewKey] = (rootKey, offset, size)
                return .storage(PickleStorage(typeName: typeName, key: rootKey, location: location, numel: size, viewOffset: offset))
            default:
                throw corrupt("main pickle: view_metadata of storage '\(rootKey)' is a \(t[5].kind)")
            }
        }) { root in
            try TorchTensorLayout.namedTensors(in: root, path: path, record: "the main pickle")
        }

        let keys = try unpickle("storage key list") { v -> [String] in
            let items: [PickleValue]
            switch v {
            case .list(let l): items = l.items
            case .tuple(let t): items = t.items
            default: throw corrupt("the storage key list is a \(v.kind)")
            }
            return try items.map { item in
                guard case .string(let k) = item else { throw corrupt("the storage key list holds a \(item.kind)") }
                return k
            }
        }

        // Walk the storages: each one's length follows from its declared type and count.
        var records: [String: StorageRecord] = [:]
        for (i, key) in keys.enumerated() {
            let which = "storage '\(key)' (\(i + 1) of \(keys.count))"
            guard let root = roots[key] else { throw corrupt("the storage key list names '\(key)', which the main pickle never uses") }
            guard records[key] == nil else { throw corrupt("the storage key list names '\(key)' twice") }
            guard all.count - pos >= 8 else {
                throw CheckpointError.truncated(path: path, reason: "the file ends at byte \(all.count), inside the element count of \(which)")
            }
            var raw: UInt64 = 0
            for b in 0..<8 { raw |= UInt64(all[pos + b]) << (8 * UInt64(b)) }
            // Old releases wrote this count in the writer's own byte order (the elements were always little-endian).
            guard raw == UInt64(root.numel) || (!littleEndian && raw.byteSwapped == UInt64(root.numel)) else {
                throw corrupt("\(which) at byte \(pos) holds \(raw) elements, but the main pickle declares \(root.numel)")
            }
            let elementSize = Self.elementSize(ofStorage: root.typeName)
            let (bytes, overflow) = root.numel.multipliedReportingOverflow(by: elementSize)
            let dataOffset = pos + 8
            guard !overflow, bytes <= all.count - dataOffset else {
                throw CheckpointError.truncated(
                    path: path, reason: "\(which) needs \(root.numel) × \(elementSize) bytes from byte \(dataOffset), but the file ends at byte \(all.count)")
            }
            records[key] = StorageRecord(typeName: root.typeName, elementSize: elementSize, numel: root.numel, dataOffset: dataOffset)
            pos = dataOffset + bytes
        }
        if let missing = roots.keys.sorted().first(where: { records[$0] == nil }) {
            throw corrupt("storage '\(missing)' is used by the main pickle but missing from the storage key list")
        }

        var entries: [String: Entry] = [:]
        var names: [String] = []
        for (name, t) in found where entries[name] == nil {
            entries[name] = try Self.entry(name: name, t, record: records[t.storage.key]!, path: path)
            names.append(name)
        }
        self.path = path
        self.file = file
        self.writerIsLittleEndian = littleEndian
        self.typeSizes = typeSizes
        self.storages = records
        self.entries = entries
        self.tensorNames = names
    }

    /// Bytes per element of a storage class (every class the allow-list admits).
    static func elementSize(ofStorage typeName: String) -> Int {
        if let dtype = DType(torchName: typeName) { return dtype.size }
        switch typeName {
        case "ComplexDoubleStorage": return 16
        case "ComplexFloatStorage": return 8
        case "QInt32Storage": return 4
        default: return 1  // QInt8Storage, QUInt8Storage, UntypedStorage (bytes)
        }
    }

    /// Checks a tensor view against its storage window so that reads can never leave it.
    private static func entry(name: String, _ t: PickleTensor, record: StorageRecord, path: String) throws -> Entry {
        // The pickled storage is the root or a view into it; both are counted in the root's element type.
        let windowOffset = record.dataOffset + t.storage.viewOffset * record.elementSize
        let windowBytes = t.storage.numel * record.elementSize
        let dtype = DType(torchName: t.dtypeName)
        try TorchTensorLayout.checkView(name: name, t, dtype: dtype, storageElements: { windowBytes / dtype!.size }, path: path)
        return Entry(dtype: dtype, dtypeName: t.dtypeName, shape: t.shape, strides: t.strides, windowOffset: windowOffset, offset: t.offset)
    }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    /// The stored element type, or nil when the name is unknown or its type has no float32 conversion.
    public func dtype(of name: String) -> DType? { entries[name]?.dtype }

    public func tensor(named name: String) throws -> Tensor {
        guard let e = entries[name] else { throw CheckpointError.missingTensor(name: name) }
        guard let dtype = e.dtype else { throw CheckpointError.unsupportedDType(name: name, dtype: e.dtypeName) }
        return TorchTensorLayout.tensor(at: UnsafeRawPointer(file.base + e.windowOffset), dtype: dtype, bigEndian: false, shape: e.shape,
            strides: e.strides, offset: e.offset, owner: file)
    }
}
