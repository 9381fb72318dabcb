/// `torch.save`-style zips of a state dict, for checkpoint tests and fuzz seeds.
enum TorchZipBuilder {
    /// One entry of the state dict: `_rebuild_tensor_v2` of storage `key` (`numel` elements of `storageType`).
    struct Entry {
        var name: String
        var storageType = "FloatStorage"
        var key = "0"
        var numel: Int
        var offset = 0
        var shape: [Int]
        var strides: [Int]
    }

    /// `OrderedDict{name: tensor}` pickled as torch.save does, each storage as the record `top/data/<key>`, plus
    /// `extra` records under `top/` (e.g. `byteorder`).
    static func stateDict(
        _ tensors: [Entry], storages: [String: [UInt8]], options: ZipWriter.Options = .init(), top: String = "archive",
        extra: [(String, [UInt8])] = []
    ) -> [UInt8] {
        var p = PickleBuilder()
        p.emptyOrderedDict()
        p.mark()
        for t in tensors {
            p.string(t.name)
            p.tensor(storageType: t.storageType, key: t.key, numel: t.numel, offset: t.offset, shape: t.shape, strides: t.strides)
        }
        p.setItems()
        p.stop()
        return zip(pickle: p.bytes, storages: storages, options: options, top: top, extra: extra)
    }

    /// `{name: <the value body pushes>}` (a plain dict) in a zip whose storage "0" holds `storage`.
    static func singleEntry(_ name: String = "w", storage: [UInt8], _ body: (inout PickleBuilder) -> Void) -> [UInt8] {
        var p = PickleBuilder()
        p.emptyDict()
        p.string(name)
        body(&p)
        p.setItem()
        p.stop()
        return zip(pickle: p.bytes, storages: ["0": storage])
    }

    /// A zip of `pickle` as `top/data.pkl` with the given storage and extra records.
    static func zip(
        pickle: [UInt8], storages: [String: [UInt8]], options: ZipWriter.Options = .init(), top: String = "archive",
        extra: [(String, [UInt8])] = []
    ) -> [UInt8] {
        var zip = ZipWriter()
        zip.add(top + "/data.pkl", pickle)
        for (key, bytes) in storages.sorted(by: { $0.key < $1.key }) { zip.add(top + "/data/" + key, bytes) }
        for (name, bytes) in extra { zip.add(top + "/" + name, bytes) }
        zip.add(top + "/version", "3\n")
        return zip.bytes(options)
    }

    /// Names and shapes only: every tensor views an empty complex storage, which readers list but never convert,
    /// so any shape (hostile ones included) stands without its bytes.
    static func shapesOnly(_ entries: [(name: String, shape: [Int])]) -> [UInt8] {
        stateDict(entries.map { Entry(name: $0.name, storageType: "ComplexFloatStorage", numel: 0, shape: $0.shape, strides: rowMajorStrides($0.shape)) },
            storages: ["0": []])
    }

    /// Row-major strides of `shape`, saturating at `Int.max` so that a hostile shape still gets valid strides.
    static func rowMajorStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for i in shape.indices.reversed() {
            strides[i] = step
            let (next, overflow) = step.multipliedReportingOverflow(by: max(shape[i], 1))
            step = overflow ? .max : next
        }
        return strides
    }
}
