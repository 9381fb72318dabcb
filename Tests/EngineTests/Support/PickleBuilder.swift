/// Hand-assembles pickle protocol 2 streams for checkpoint tests (benign state dicts and hostile ones).
struct PickleBuilder {
    private(set) var bytes: [UInt8] = [0x80, 0x02]

    mutating func op(_ b: UInt8) { bytes.append(b) }
    mutating func raw(_ b: [UInt8]) { bytes += b }
    /// BINPUT, or LONG_BINPUT from slot 256 on (as CPython's pickler writes them).
    mutating func put(_ slot: Int) { bytes += slot < 256 ? [0x71, UInt8(slot)] : [0x72] + RawBytes.le(UInt32(slot)) }
    /// BINGET, or LONG_BINGET from slot 256 on.
    mutating func get(_ slot: Int) { bytes += slot < 256 ? [0x68, UInt8(slot)] : [0x6A] + RawBytes.le(UInt32(slot)) }
    mutating func mark() { op(0x28) }
    mutating func tuple() { op(0x74) }
    mutating func emptyTuple() { op(0x29) }
    mutating func emptyDict() { op(0x7D) }
    mutating func emptyList() { op(0x5D) }
    mutating func setItems() { op(0x75) }
    mutating func setItem() { op(0x73) }
    mutating func appends() { op(0x65) }
    mutating func reduce() { op(0x52) }
    mutating func newObj() { op(0x81) }
    mutating func build() { op(0x62) }
    mutating func persistentID() { op(0x51) }
    mutating func none() { op(0x4E) }
    mutating func bool(_ v: Bool) { op(v ? 0x88 : 0x89) }
    mutating func stop() { op(0x2E) }

    mutating func global(_ module: String, _ name: String) {
        op(0x63)
        bytes += Array("\(module)\n\(name)\n".utf8)
    }

    /// STACK_GLOBAL (protocol 4 style): module and name strings from the stack.
    mutating func stackGlobal(_ module: String, _ name: String) {
        string(module)
        string(name)
        op(0x93)
    }

    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        op(0x58)
        for i in 0..<4 { bytes.append(UInt8((u.count >> (8 * i)) & 0xFF)) }
        bytes += u
    }

    /// An int the way CPython's protocol-2 pickler writes it: BININT1, BININT2, BININT, else LONG1 with the
    /// fewest two's-complement bytes.
    mutating func int(_ v: Int) {
        if (0..<256).contains(v) {
            op(0x4B); bytes.append(UInt8(v))
        } else if (0..<65536).contains(v) {
            op(0x4D); bytes += [UInt8(v & 0xFF), UInt8(v >> 8)]
        } else if let i = Int32(exactly: v) {
            op(0x4A); bytes += RawBytes.le(i)
        } else {
            var n = 8  // drop redundant sign bytes
            while n > 1, Int64(v) == (Int64(v) << (64 - 8 * (n - 1))) >> (64 - 8 * (n - 1)) { n -= 1 }
            op(0x8A); bytes.append(UInt8(n))
            bytes += RawBytes.le(Int64(v)).prefix(n)
        }
    }

    mutating func intTuple(_ values: [Int]) {
        mark()
        for v in values { int(v) }
        tuple()
    }

    /// `collections.OrderedDict()`.
    mutating func emptyOrderedDict() {
        global("collections", "OrderedDict")
        emptyTuple()
        reduce()
    }

    /// The zip format's persistent storage: BINPERSID of `('storage', torch.<type>, key, 'cpu', numel)`.
    mutating func storage(_ type: String, key: String, numel: Int) {
        mark()
        string("storage")
        global("torch", type)
        string(key)
        string("cpu")
        int(numel)
        tuple()
        persistentID()
    }

    /// Pushes the argument tuple of `_rebuild_tensor_v2`: `(storage, offset, size, stride, False, OrderedDict())`.
    mutating func tensorArguments(storageType: String, key: String, numel: Int, offset: Int, shape: [Int], strides: [Int]) {
        mark()
        storage(storageType, key: key, numel: numel)
        int(offset)
        intTuple(shape)
        intTuple(strides)
        bool(false)
        emptyOrderedDict()
        tuple()
    }

    /// Pushes `_rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`.
    mutating func tensor(storageType: String, key: String, numel: Int, offset: Int, shape: [Int], strides: [Int]) {
        global("torch._utils", "_rebuild_tensor_v2")
        tensorArguments(storageType: storageType, key: key, numel: numel, offset: offset, shape: shape, strides: strides)
        reduce()
    }

    /// Pushes the tensor whose `_rebuild_tensor_v2` arguments `tensorArguments` pushes, wrapped in `depth` nested
    /// `_rebuild_from_type_v2(f, None, args, None)` calls (f(*args) at every level). Uses memo slots 0 and 1.
    mutating func rebuildFromTypeChain(depth: Int, tensorArguments: (inout PickleBuilder) -> Void) {
        global("torch._tensor", "_rebuild_from_type_v2")
        put(0)
        op(0x30)  // POP
        mark()
        global("torch._utils", "_rebuild_tensor_v2")
        none()
        tensorArguments(&self)
        none()
        tuple()  // (func, type, args, state) of the innermost call
        for _ in 0..<depth {  // wrap: (_rebuild_from_type_v2, None, <previous>, None)
            put(1)
            op(0x30)
            mark()
            get(0)
            none()
            get(1)
            none()
            tuple()
        }
        put(1)
        op(0x30)
        get(0)
        get(1)
        reduce()
    }

    /// Replaces the value on top of the stack with `levels` tuples, each holding the one below twice: 2^levels
    /// paths to that value in a few bytes per level. Uses memo slots 0...levels.
    mutating func sharedTuples(levels: Int) {
        put(0)
        for level in 0..<levels {
            get(level)
            op(0x86)  // TUPLE2 of the previous level with itself
            put(level + 1)
        }
    }

    /// Pushes `_rebuild_parameter(<tensor>, True, OrderedDict())`, as a pickled `nn.Parameter`.
    mutating func parameter(storageType: String, key: String, numel: Int, offset: Int, shape: [Int], strides: [Int]) {
        global("torch._utils", "_rebuild_parameter")
        mark()
        tensor(storageType: storageType, key: key, numel: numel, offset: offset, shape: shape, strides: strides)
        bool(true)
        emptyOrderedDict()
        tuple()
        reduce()
    }
}

/// Little-endian bytes of values, for storage records.
enum RawBytes {
    static func f32(_ v: [Float]) -> [UInt8] { v.flatMap { le($0.bitPattern) } }
    static func f16(_ v: [Float]) -> [UInt8] { v.flatMap { le(Float16($0).bitPattern) } }
    static func bf16(_ v: [Float]) -> [UInt8] { v.flatMap { le(UInt16($0.bitPattern >> 16)) } }
    static func f64(_ v: [Double]) -> [UInt8] { v.flatMap { le($0.bitPattern) } }
    static func i64(_ v: [Int64]) -> [UInt8] { v.flatMap { le(UInt64(bitPattern: $0)) } }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }
}
