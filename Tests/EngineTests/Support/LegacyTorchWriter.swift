/// Writes legacy (pre-1.6, non-zip) `torch.save` files for tests, laid out as PyTorch's legacy serializer
/// does: pickle(magic number) · pickle(1001) · pickle(sys_info) · main pickle with 6-tuple storage persistent
/// ids · pickle(root keys sorted as strings) · per key an 8-byte element count and the little-endian
/// elements. Pickles are protocol 2 and memoised the way CPython's pickler does (BINPUT after every global,
/// string and non-empty tuple; BINGET when the same global or interned string comes again).
struct LegacyTorchWriter {
    /// A root storage: `bytes` are its little-endian elements.
    struct Storage {
        var key: String
        /// Storage class name, e.g. "FloatStorage".
        var type: String
        var elementSize: Int
        var bytes: [UInt8]
        var numel: Int { bytes.count / elementSize }
    }

    /// A tensor entry of the saved state dict.
    struct TensorRef {
        var name: String
        var storageKey: String
        /// `(view_key, offset, size)` when the tensor's storage is a view into the root (elements).
        var view: (key: String, offset: Int, size: Int)? = nil
        var offset: Int
        var shape: [Int]
        var strides: [Int]
    }

    var storages: [Storage] = []
    var tensors: [TensorRef] = []
    var protocolVersion = 1001
    var littleEndian = true
    var typeSizes: [(String, Int)] = [("short", 2), ("int", 4), ("long", 8)]
    /// Writes the element counts big-endian, as pre-1.x releases did on big-endian machines.
    var bigEndianCounts = false

    /// Offsets of the parts of the last file written by `bytes`, for cutting it in tests.
    struct Layout {
        var sysInfo = 0, mainPickle = 0, keyList = 0
        /// Start of each storage's 8-byte count, in key-list order.
        var storageRecords: [(key: String, offset: Int)] = []
    }

    /// Builds one pickle with CPython-style memoisation.
    struct Pickler {
        var p = PickleBuilder()
        private var slots = 0
        private var interned: [String: Int] = [:]

        mutating func memoize() { p.put(slots); slots += 1 }

        mutating func global(_ module: String, _ name: String) {
            let id = "g:" + module + "." + name
            if let slot = interned[id] { p.get(slot); return }
            p.global(module, name)
            interned[id] = slots
            memoize()
        }

        /// A string; `interned` ones (one Python object used again and again, like 'storage' and 'cpu') are
        /// memoised once and fetched with BINGET afterwards.
        mutating func string(_ s: String, interned isInterned: Bool = false) {
            if isInterned, let slot = interned["s:" + s] { p.get(slot); return }
            p.string(s)
            if isInterned { interned["s:" + s] = slots }
            memoize()
        }

        /// A tuple of ints: EMPTY_TUPLE, TUPLE1-3 or MARK…TUPLE, memoised unless empty.
        mutating func intTuple(_ values: [Int]) {
            if values.isEmpty { p.emptyTuple(); return }
            if values.count > 3 { p.mark() }
            for v in values { p.int(v) }
            p.op(values.count > 3 ? 0x74 : [0x85, 0x86, 0x87][values.count - 1])
            memoize()
        }

        /// `collections.OrderedDict()`.
        mutating func emptyOrderedDict() {
            global("collections", "OrderedDict")
            p.emptyTuple()
            p.reduce()
            memoize()
        }

        /// `_rebuild_tensor_v2(<persistent storage>, offset, size, stride, False, OrderedDict())`.
        mutating func tensor(_ t: TensorRef, storage: Storage) {
            global("torch._utils", "_rebuild_tensor_v2")
            p.mark()
            // ('storage', torch.XStorage, root_key, 'cpu', root numel, view_metadata)
            p.mark()
            string("storage", interned: true)
            global("torch", storage.type)
            string(storage.key)
            string("cpu", interned: true)
            p.int(storage.numel)
            if let v = t.view {
                string(v.key)
                p.int(v.offset)
                p.int(v.size)
                p.op(0x87)  // TUPLE3
                memoize()
            } else {
                p.none()
            }
            p.tuple()
            memoize()
            p.persistentID()
            p.int(t.offset)
            intTuple(t.shape)
            intTuple(t.strides)
            p.bool(false)
            emptyOrderedDict()
            p.tuple()
            memoize()
            p.reduce()
            memoize()
        }
    }

    /// The state dict as PyTorch pickles it: an OrderedDict filled by SETITEMS (batches of 1000), then its
    /// `_metadata` attribute through BUILD.
    func mainPickle() -> [UInt8] {
        var w = Pickler()
        let byKey = Dictionary(uniqueKeysWithValues: storages.map { ($0.key, $0) })
        w.emptyOrderedDict()
        for batch in stride(from: 0, to: tensors.count, by: 1000) {
            w.p.mark()
            for t in tensors[batch..<min(batch + 1000, tensors.count)] {
                w.string(t.name)
                w.tensor(t, storage: byKey[t.storageKey]!)
            }
            w.p.setItems()
        }
        w.p.emptyDict()
        w.memoize()
        w.string("_metadata")
        w.emptyOrderedDict()
        w.string("")
        w.p.emptyDict()
        w.memoize()
        w.string("version")
        w.p.int(1)
        w.p.setItem()
        w.p.setItem()
        w.p.setItem()
        w.p.build()
        w.p.stop()
        return w.p.bytes
    }

    /// The whole file. `mainPickle` and `storageKeys` replace the writer's own (for hostile or broken files).
    func bytes(mainPickle main: [UInt8]? = nil, storageKeys: [String]? = nil) -> [UInt8] {
        bytesAndLayout(mainPickle: main, storageKeys: storageKeys).bytes
    }

    func bytesAndLayout(mainPickle main: [UInt8]? = nil, storageKeys: [String]? = nil) -> (bytes: [UInt8], layout: Layout) {
        var out: [UInt8] = []
        var layout = Layout()
        // Magic number: PROTO 2, LONG1 of 0x1950a86a20f9469cfc6c, STOP.
        out += [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        var version = Pickler()
        version.p.int(protocolVersion)
        version.p.stop()
        out += version.p.bytes

        layout.sysInfo = out.count
        var sys = Pickler()
        sys.p.emptyDict()
        sys.memoize()
        sys.p.mark()
        sys.string("protocol_version")
        sys.p.int(protocolVersion)
        sys.string("little_endian")
        sys.p.bool(littleEndian)
        sys.string("type_sizes")
        sys.p.emptyDict()
        sys.memoize()
        sys.p.mark()
        for (name, size) in typeSizes {
            sys.string(name)
            sys.p.int(size)
        }
        sys.p.setItems()
        sys.p.setItems()
        sys.p.stop()
        out += sys.p.bytes

        layout.mainPickle = out.count
        out += main ?? mainPickle()

        // Root keys, sorted as strings (not numerically), each storage once.
        let keys = storageKeys ?? storages.map(\.key).sorted()
        layout.keyList = out.count
        var list = Pickler()
        list.p.emptyList()
        list.memoize()
        if keys.count == 1 {
            list.string(keys[0])
            list.p.op(0x61)  // APPEND
        } else if !keys.isEmpty {
            list.p.mark()
            for k in keys { list.string(k) }
            list.p.appends()
        }
        list.p.stop()
        out += list.p.bytes

        let byKey = Dictionary(uniqueKeysWithValues: storages.map { ($0.key, $0) })
        for key in keys {
            guard let s = byKey[key] else { continue }
            layout.storageRecords.append((key, out.count))
            let count = RawBytes.le(UInt64(s.numel))
            out += bigEndianCounts ? count.reversed() : count
            out += s.bytes
        }
        return (out, layout)
    }
}
