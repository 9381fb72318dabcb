import Foundation

/// A PyTorch zip checkpoint: a `torch.save` file (PyTorch >= 1.6) or a TorchScript archive (`torch.jit.save`,
/// e.g. OpenAI's CLIP files).
///
/// Only `<top>/data.pkl` and the `<top>/data/<key>` storage records are read; the top folder's name is
/// whatever the archive uses. `data.pkl` goes through `SafeUnpickler`, which builds plain values and refuses
/// any global outside the state-dict allow-list, so loading never runs code from the file.
///
/// Tensor names are the dotted paths from the pickled root to each tensor: a state dict's own keys; for
/// nested dicts the keys joined with "."; for TorchScript the module attribute path, which is the original
/// model's `state_dict()` name (`visual.conv1.weight`). Integer buffers are listed too (see `dtype(of:)`).
///
/// Memory: the file is memory-mapped once. A little-endian float32 tensor that is contiguous in an
/// uncompressed record is returned *borrowing* the mapping (no copy; the kernel pages it in on first touch
/// and may drop clean pages under pressure), so the 2.2 GB ADM checkpoint is never held twice. Other dtypes,
/// non-contiguous views and compressed records are converted into fresh float32 storage on access.
public final class TorchZipArchive: TensorArchive, @unchecked Sendable {
    struct Entry {
        let dtype: DType?
        let dtypeName: String
        let shape: [Int]
        let strides: [Int]
        /// Storage offset in elements of `dtype`.
        let offset: Int
        let record: ZipArchive.Entry
    }

    public let path: String
    /// Whether the file is a TorchScript archive (it has a `constants.pkl` record) rather than a `torch.save` file.
    public let isTorchScript: Bool
    public let tensorNames: [String]
    let zip: ZipArchive
    /// The archive's top folder (`<top>/data.pkl`).
    let topFolder: String
    /// Storage bytes are big-endian (a `byteorder` record saying "big").
    let bigEndian: Bool
    private let entries: [String: Entry]
    /// The compressed record inflated last: consecutive tensors viewing one storage (a flat parameter buffer, or a
    /// hostile file's deflate bomb viewed a thousand times) inflate it once, not once each.
    private let lastInflated = LastInflatedRecord()

    /// Largest data.pkl read: the official checkpoints' are well under a megabyte (names, shapes and storage
    /// keys only); the bound stops a pickle of gigabytes (or a deflated one that claims to be) from being read.
    static let maxPickleBytes = 64 << 20

    /// Opens and indexes the archive; tensor bytes are read on access.
    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        let zip = try ZipArchive(file: file)
        let path = file.path
        guard let first = zip.entries.first, let slash = first.name.firstIndex(of: "/") else {
            throw CheckpointError.unsupportedFormat(path: path, reason: "zip archive without a top folder holding data.pkl: not a torch.save or TorchScript file")
        }
        let top = String(first.name[..<slash])
        guard let pickleEntry = zip.entry(top + "/data.pkl") else {
            throw CheckpointError.unsupportedFormat(path: path, reason: "zip archive without '\(top)/data.pkl': not a torch.save or TorchScript file")
        }
        var bigEndian = false
        if let order = zip.entry(top + "/byteorder") {
            let text = String(decoding: try zip.readVerified(order), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            switch text {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default: throw CheckpointError.corrupt(path: path, reason: "byteorder record says '\(text)'")
            }
        }

        // Storages are deduplicated by key: several tensors may view one storage at different offsets.
        var storages: [String: PickleStorage] = [:]
        let unpickler = SafeUnpickler(path: path, record: pickleEntry.name) { pid in
            guard case .tuple(let tuple) = pid, case let t = tuple.items, t.count == 5, case .string("storage") = t[0] else {
                throw CheckpointError.corrupt(path: path, reason: "data.pkl: persistent id is not a ('storage', type, key, location, numel) tuple")
            }
            guard case .global(.storageType(let typeName)) = t[1], case .string(let key) = t[2],
                case .string(let location) = t[3], case .int(let numel) = t[4], numel >= 0
            else {
                throw CheckpointError.corrupt(path: path, reason: "data.pkl: malformed storage persistent id")
            }
            let storage = PickleStorage(typeName: typeName, key: key, location: location, numel: numel)
            if let seen = storages[key], seen.typeName != typeName || seen.numel != numel {
                throw CheckpointError.corrupt(path: path, reason: "data.pkl: storage '\(key)' is declared twice with different types or sizes")
            }
            storages[key] = storage
            return .storage(storage)
        }
        let found = try zip.withVerifiedBytes(pickleEntry, limit: Self.maxPickleBytes) { pickle in
            try unpickler.load(pickle) { root, _ in try TorchTensorLayout.namedTensors(in: root, path: path, record: "data.pkl") }
        }

        var entries: [String: Entry] = [:]
        var names: [String] = []
        for (name, t) in found where entries[name] == nil {
            entries[name] = try Self.validate(name: name, t, top: top, zip: zip)
            names.append(name)
        }
        self.path = path
        self.zip = zip
        self.topFolder = top
        self.bigEndian = bigEndian
        self.isTorchScript = zip.entry(top + "/constants.pkl") != nil
        self.entries = entries
        self.tensorNames = names
    }

    /// Checks a tensor view against its storage record so that reads can never leave the record.
    private static func validate(name: String, _ t: PickleTensor, top: String, zip: ZipArchive) throws -> Entry {
        let path = zip.path
        func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: "tensor '\(name)': \(reason)") }
        let recordName = top + "/data/" + t.storage.key
        guard let record = zip.entry(recordName) else { throw corrupt("its storage record '\(recordName)' is missing") }
        let dtype = DType(torchName: t.dtypeName)
        try TorchTensorLayout.checkView(name: name, t, dtype: dtype, storageElements: {
            let size = dtype!.size
            // Storage size in elements of `dtype` (an untyped storage counts bytes).
            let storageElements = t.storage.typeName == "UntypedStorage" ? t.storage.numel / size : t.storage.numel
            let (storageBytes, o1) = storageElements.multipliedReportingOverflow(by: size)
            guard !o1, storageBytes <= record.uncompressedSize else {
                throw corrupt("storage '\(t.storage.key)' declares \(storageElements) \(dtype!.rawValue) elements but its record holds \(record.uncompressedSize) bytes")
            }
            return storageElements
        }, path: path)
        return Entry(dtype: dtype, dtypeName: t.dtypeName, shape: t.shape, strides: t.strides, offset: t.offset, record: record)
    }

    public func shape(of name: String) -> [Int]? { entries[name]?.shape }

    /// The stored element type, or nil when the name is unknown or its type has no float32 conversion.
    public func dtype(of name: String) -> DType? { entries[name]?.dtype }

    public func tensor(named name: String) throws -> Tensor {
        guard let e = entries[name] else { throw CheckpointError.missingTensor(name: name) }
        guard let dtype = e.dtype else { throw CheckpointError.unsupportedDType(name: name, dtype: e.dtypeName) }
        if let bytes = zip.mappedBytes(e.record) {
            return TorchTensorLayout.tensor(at: UnsafeRawPointer(bytes.baseAddress!), dtype: dtype, bigEndian: bigEndian, shape: e.shape,
                strides: e.strides, offset: e.offset, owner: zip.file)
        }
        // A compressed record, inflated into fresh memory. A tensor that is the whole record borrows it (no second
        // copy); one viewing part of a record gathers its part, so that tensors sharing a large storage do not each
        // keep a copy of all of it alive.
        let record = try lastInflated.record(e.record.name) { try zip.inflated(e.record) }
        let covers = e.offset == 0 && Tensor.elementCount(e.shape) * dtype.size == record.count
        return TorchTensorLayout.tensor(at: UnsafeRawPointer(record.pointer), dtype: dtype, bigEndian: bigEndian, shape: e.shape,
            strides: e.strides, offset: e.offset, owner: covers ? record : nil)
    }
}

/// A one-entry cache of an inflated record, shared by the threads that read one archive.
private final class LastInflatedRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var last: (name: String, record: InflatedRecord)?

    /// The record called `name`, inflated by `inflate` unless it is the one kept from the last call.
    func record(_ name: String, _ inflate: () throws -> InflatedRecord) throws -> InflatedRecord {
        if let kept = lock.withLock({ last }), kept.name == name { return kept.record }
        let record = try inflate()
        lock.withLock { last = (name, record) }
        return record
    }
}
