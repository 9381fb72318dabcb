/// A plain value built by `SafeUnpickler`. Nothing in it can execute code: callables are an allow-listed enum.
///
/// Containers (tuples included) are classes created through the unpickling's `PickleArena`, which empties them
/// all when the unpickling ends: freeing a hostile value never recurses, whatever its depth, cycles or sharing.
/// Lists, dicts and objects are also mutated after they are memoised (APPEND, SETITEMS, BUILD act on the shared
/// object, as in Python).
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple(PickleTuple)
    case list(PickleList)
    case dict(PickleDict)
    /// A TorchScript module (`__torch__.*` class): an inert bag of attributes, never executed.
    case object(PickleObject)
    /// A reference to an allow-listed global (class or function).
    case global(PickleGlobal)
    /// A persistent storage reference (`('storage', torch.XStorage, key, location, numel[, view_metadata])`).
    /// Boxed, as is `tensor`, so that a value stays three words wide: the machine's stack and memo hold millions.
    indirect case storage(PickleStorage)
    indirect case tensor(PickleTensor)

    /// Short kind name for error messages.
    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .object(let o): return "object of \(o.className)"
        case .global(let g): return "global \(g.qualifiedName)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

/// A container whose children `PickleArena` can drop when the unpickling ends.
protocol PickleContainer: AnyObject {
    /// Drops every child reference (the container is dead: nothing reads it afterwards).
    func removeChildren()
}

/// Owns every container one unpickling creates, so that they can be freed without recursion.
///
/// Swift frees a value by releasing its children, recursively: a chain nested a million deep (which a few
/// megabytes of pickle can build) would overflow the stack, and a cycle (a list appended to itself) would
/// never be freed. Instead, `tearDown()` first empties every container, which drops only references to
/// containers the arena still holds (so no deinit runs), then drops the arena's own references to containers
/// that are now childless. Linear in the number of containers, whatever their shape.
final class PickleArena {
    private var containers: [any PickleContainer] = []

    func tuple(_ items: [PickleValue]) -> PickleValue { .tuple(register(PickleTuple(items))) }
    func list(_ items: [PickleValue] = []) -> PickleValue { .list(register(PickleList(items))) }
    func dict() -> PickleDict { register(PickleDict()) }
    func object(className: String) -> PickleValue { .object(register(PickleObject(className: className, attributes: dict()))) }

    /// Number of containers created so far.
    var count: Int { containers.count }

    private func register<C: PickleContainer>(_ container: C) -> C {
        containers.append(container)
        return container
    }

    /// Empties and releases every container. Values from this arena must not be used afterwards.
    func tearDown() {
        for container in containers { container.removeChildren() }
        containers = []
    }
}

/// An immutable tuple (a class only so that `PickleArena` can empty it).
final class PickleTuple: PickleContainer {
    private(set) var items: [PickleValue]
    fileprivate init(_ items: [PickleValue]) { self.items = items }
    func removeChildren() { items = [] }
}

final class PickleList: PickleContainer {
    var items: [PickleValue]
    fileprivate init(_ items: [PickleValue]) { self.items = items }
    func removeChildren() { items = [] }
}

/// An insertion-ordered dict. Keys that are strings or ints replace earlier equal keys, as in Python.
final class PickleDict: PickleContainer {
    private enum Key: Hashable {
        case string(String), int(Int)
    }
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [Key: Int] = [:]

    fileprivate init() {}

    func removeChildren() {
        entries = []
        index = [:]
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        let id: Key?
        switch key {
        case .string(let s): id = .string(s)
        case .int(let i): id = .int(i)
        default: id = nil
        }
        if let id, let at = index[id] {
            entries[at].value = value
        } else {
            if let id { index[id] = entries.count }
            entries.append((key, value))
        }
    }
}

final class PickleObject: PickleContainer {
    /// Qualified class name, e.g. `__torch__.clip.model.CLIP`.
    let className: String
    /// The attribute dict from BUILD (parameters, buffers, submodules, plain attributes).
    let attributes: PickleDict
    /// A non-dict BUILD state (kept, never interpreted).
    var otherState: PickleValue?
    fileprivate init(className: String, attributes: PickleDict) {
        self.className = className
        self.attributes = attributes
    }
    func removeChildren() { otherState = nil }  // `attributes` is a container of the same arena
}

struct PickleStorage {
    /// Storage class name, e.g. `FloatStorage`, `HalfStorage`, `UntypedStorage`.
    let typeName: String
    let key: String
    let location: String
    /// Element count in units of the storage type (bytes for `UntypedStorage`); for a legacy view, the view's.
    let numel: Int
    /// Elements from the start of storage `key` to this storage: non-zero only for the views that legacy
    /// `torch.save` files can describe (`view_metadata`); tensor offsets count from here.
    var viewOffset = 0
}

struct PickleTensor {
    let storage: PickleStorage
    /// Element type name: the storage class name, or the explicit `torch.<dtype>` name of `_rebuild_tensor_v3`.
    let dtypeName: String
    let offset: Int
    let shape: [Int]
    let strides: [Int]
}

/// The globals a state dict or TorchScript module tree needs; every other global is refused by name.
enum PickleGlobal: Equatable {
    case orderedDict
    case rebuildTensor, rebuildTensorV2, rebuildTensorV3
    case rebuildParameter, rebuildParameterWithState, rebuildFromTypeV2
    /// `torch.jit._pickle.build_*list` / `restore_type_tag`: identity functions TorchScript wraps lists in.
    case jitIdentity(String)
    case storageType(String)
    case tensorClass(String)
    case dtype(String)
    case scriptClass(String)

    static let storageTypes: Set<String> = [
        "DoubleStorage", "FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
        "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "ComplexFloatStorage",
        "ComplexDoubleStorage", "QInt8Storage", "QUInt8Storage", "QInt32Storage", "UntypedStorage",
    ]
    static let dtypeNames: Set<String> = [
        "float16", "half", "float32", "float", "float64", "double", "bfloat16", "int64", "long", "int32", "int",
        "int16", "short", "int8", "uint8", "bool", "complex64", "complex128",
    ]

    /// The allow-list. Returns nil for anything else.
    init?(module: String, name: String) {
        switch (module, name) {
        case ("collections", "OrderedDict"): self = .orderedDict
        case ("torch._utils", "_rebuild_tensor"): self = .rebuildTensor
        case ("torch._utils", "_rebuild_tensor_v2"): self = .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): self = .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): self = .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): self = .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): self = .rebuildFromTypeV2
        case ("torch.jit._pickle", "build_intlist"), ("torch.jit._pickle", "build_tensorlist"),
            ("torch.jit._pickle", "build_doublelist"), ("torch.jit._pickle", "build_boollist"),
            ("torch.jit._pickle", "restore_type_tag"):
            self = .jitIdentity(name)
        case ("torch._tensor", "Tensor"), ("torch", "Tensor"), ("torch.nn.parameter", "Parameter"):
            self = .tensorClass(module + "." + name)
        case ("torch", _) where Self.storageTypes.contains(name): self = .storageType(name)
        case ("torch", _) where Self.dtypeNames.contains(name): self = .dtype(name)
        case _ where module == "__torch__" || module.hasPrefix("__torch__."):
            // TorchScript module classes: instantiated only as inert attribute bags (NEWOBJ + BUILD).
            self = .scriptClass(module + "." + name)
        default: return nil
        }
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .rebuildTensor: return "torch._utils._rebuild_tensor"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: return "torch._tensor._rebuild_from_type_v2"
        case .jitIdentity(let n): return "torch.jit._pickle." + n
        case .storageType(let n), .dtype(let n): return "torch." + n
        case .tensorClass(let n), .scriptClass(let n): return n
        }
    }

    /// Splits `qualifiedName` into (module, name) for `CheckpointError.forbiddenGlobal`.
    var moduleAndName: (String, String) {
        let q = qualifiedName
        guard let dot = q.lastIndex(of: ".") else { return ("", q) }
        return (String(q[..<dot]), String(q[q.index(after: dot)...]))
    }
}

/// A pickle stack machine that builds `PickleValue`s only (protocol 0-5 opcodes that state dicts and
/// TorchScript archives use). It never imports or calls anything: GLOBAL resolves against `PickleGlobal`'s
/// allow-list and refuses every other name; REDUCE/NEWOBJ/BUILD are interpreted only for allow-listed targets.
struct SafeUnpickler {
    /// File path and record name, for error messages.
    let path: String
    let record: String
    /// Resolves a BINPERSID id (the zip format's storage tuples).
    let persistentLoad: (PickleValue) throws -> PickleValue

    private struct Mark {}

    func corrupt(_ reason: String) -> CheckpointError { .corrupt(path: path, reason: "\(record): \(reason)") }

    /// Limits that bound the time and memory a hostile pickle can take; real checkpoints stay far below them
    /// (the 2.2 GB U-Net's data.pkl pushes about 20k values, a CLIP TorchScript module tree some 100k).
    /// Values pushed on the stack (every container, string or number built): a few hundred MB at most.
    static let maxValues = 1 << 22
    /// Memo slots written.
    static let maxMemoSlots = 1 << 22
    /// Work that does not shrink the stack, in units of one entry copied or one key byte hashed: BUILD and
    /// OrderedDict copy whole containers, and a repeated SETITEM hashes its key again (without this bound a
    /// 3-byte opcode could cost a megabyte of work, over and over).
    static let maxWork = 1 << 28

    /// The work of setting a dict entry: hashing its key.
    static func keyCost(_ key: PickleValue) -> Int {
        if case .string(let s) = key { return 1 + s.utf8.count }
        return 1
    }

    /// Unpickles `bytes` and hands the root value to `body`. Every container built is freed afterwards without
    /// recursion (`PickleArena`), so `body` must copy out what it needs (tensor descriptions are plain structs).
    func load<R>(_ bytes: [UInt8], _ body: (PickleValue) throws -> R) throws -> R {
        try bytes.withUnsafeBytes { data in try load(data) { root, _ in try body(root) } }
    }

    /// Unpickles the pickle at the start of `data`, which may go on past it (the legacy `torch.save` format is
    /// several pickles back to back, then raw data), and hands `body` the root and the byte offset just past
    /// the pickle's STOP. Teardown as in `load(_:_:)`.
    func load<R>(_ data: UnsafeRawBufferPointer, _ body: (_ root: PickleValue, _ end: Int) throws -> R) throws -> R {
        let arena = PickleArena()
        defer { arena.tearDown() }
        var stack: [PickleValue] = []
        var memo: [Int: PickleValue] = [:]
        let (root, end) = try run(data, arena, &stack, &memo)
        return try body(root, end)
    }

    /// Runs the machine, building containers in `arena`. Returns the root value and the offset just past STOP.
    private func run(
        _ data: UnsafeRawBufferPointer, _ arena: PickleArena, _ stack: inout [PickleValue], _ memo: inout [Int: PickleValue]
    ) throws -> (PickleValue, Int) {
        var marks: [Int] = []
        var pos = 0
        var pushed = 0
        var work = 0

        func push(_ v: PickleValue) throws {
            pushed += 1
            guard pushed <= Self.maxValues else { throw corrupt("more than \(Self.maxValues) values; refusing to build more") }
            stack.append(v)
        }
        /// Charges `units` of work (see `maxWork`).
        func charge(_ units: Int) throws {
            work += units
            guard work <= Self.maxWork else { throw corrupt("more work than any checkpoint needs (\(Self.maxWork) units); refusing to go on") }
        }
        func put(_ slot: Int) throws {
            if memo[slot] == nil {
                guard memo.count < Self.maxMemoSlots else { throw corrupt("more than \(Self.maxMemoSlots) memo slots") }
            }
            memo[slot] = try top()
        }

        func need(_ n: Int) throws {
            guard n >= 0, pos <= data.count - n else {
                throw CheckpointError.truncated(path: path, reason: "\(record) ends inside a pickle opcode at byte \(pos)")
            }
        }
        func u8() throws -> Int { try need(1); defer { pos += 1 }; return Int(data[pos]) }
        func le(_ n: Int) throws -> UInt64 {
            try need(n)
            var v: UInt64 = 0
            for i in 0..<n { v |= UInt64(data[pos + i]) << (8 * UInt64(i)) }
            pos += n
            return v
        }
        func raw(_ n: Int) throws -> UnsafeRawBufferPointer {
            try need(n)
            defer { pos += n }
            return UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)])
        }
        func line() throws -> String {
            guard let end = data[pos...].firstIndex(of: UInt8(ascii: "\n")) else {
                throw CheckpointError.truncated(path: path, reason: "\(record) ends inside a text pickle opcode")
            }
            defer { pos = end + 1 }
            guard let s = String(validating: UnsafeRawBufferPointer(rebasing: data[pos..<end]), as: UTF8.self) else {
                throw corrupt("text argument at byte \(pos) is not UTF-8")
            }
            return s
        }
        func text(_ n: Int) throws -> String {
            guard let s = String(validating: try raw(n), as: UTF8.self) else { throw corrupt("string at byte \(pos) is not UTF-8") }
            return s
        }
        func length(_ v: UInt64) throws -> Int {
            guard v <= UInt64(data.count) else {
                throw CheckpointError.truncated(path: path, reason: "\(record) announces \(v) bytes at byte \(pos), past its end")
            }
            return Int(v)
        }
        func pop() throws -> PickleValue {
            guard stack.count > (marks.last ?? 0), let v = stack.popLast() else {
                throw corrupt("stack underflow at byte \(pos)")
            }
            return v
        }
        func popToMark() throws -> [PickleValue] {
            guard let m = marks.popLast() else { throw corrupt("no MARK before byte \(pos)") }
            let items = Array(stack[m...])
            stack.removeSubrange(m...)
            return items
        }
        func top() throws -> PickleValue {
            guard let v = stack.last, stack.count > (marks.last ?? 0) else { throw corrupt("stack underflow at byte \(pos)") }
            return v
        }
        func memoGet(_ i: Int) throws -> PickleValue {
            guard let v = memo[i] else { throw corrupt("memo slot \(i) read before it was written") }
            return v
        }
        func twosComplement(_ n: Int) throws -> Int {
            guard n <= 8 else { throw corrupt("integer of \(n) bytes does not fit 64 bits") }
            if n == 0 { return 0 }
            var v = try le(n)
            if n < 8, v & (UInt64(1) << (8 * UInt64(n) - 1)) != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }
            return Int(Int64(bitPattern: v))
        }
        func global(_ module: String, _ name: String) throws -> PickleValue {
            guard let g = PickleGlobal(module: module, name: name) else {
                throw CheckpointError.forbiddenGlobal(module: module, name: name)
            }
            return .global(g)
        }
        func setItems(_ target: PickleValue, _ items: [PickleValue]) throws {
            guard case .dict(let d) = target else { throw corrupt("SETITEM(S) on a \(target.kind)") }
            guard items.count % 2 == 0 else { throw corrupt("SETITEMS with an odd number of items") }
            for i in stride(from: 0, to: items.count, by: 2) {
                try charge(Self.keyCost(items[i]))
                d.set(items[i], items[i + 1])
            }
        }
        func append(_ target: PickleValue, _ items: [PickleValue]) throws {
            guard case .list(let l) = target else { throw corrupt("APPEND(S) on a \(target.kind)") }
            l.items.append(contentsOf: items)
        }

        while true {
            let opAt = pos
            let op = try u8()
            switch op {
            case 0x80: _ = try u8()  // PROTO
            case 0x95: _ = try le(8)  // FRAME: framing is only a read-ahead hint
            case 0x2E:  // STOP
                guard marks.isEmpty, stack.count == 1 else { throw corrupt("STOP with \(stack.count) values on the stack") }
                return (stack[0], pos)
            case 0x28: marks.append(stack.count)  // MARK
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popToMark()  // POP_MARK
            case 0x32: try push(try top())  // DUP

            // Constants and numbers.
            case 0x4E: try push(.none)
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4B: try push(.int(Int(try le(1))))  // BININT1
            case 0x4D: try push(.int(Int(try le(2))))  // BININT2
            case 0x4A: try push(.int(Int(Int32(bitPattern: UInt32(try le(4))))))  // BININT
            case 0x8A: try push(.int(try twosComplement(try u8())))  // LONG1
            case 0x8B: try push(.int(try twosComplement(try length(try le(4)))))  // LONG4
            case 0x47: try push(.float(Double(bitPattern: try le(8).byteSwapped)))  // BINFLOAT (big-endian)
            case 0x49:  // INT (text; "01"/"00" are protocol-0 booleans)
                let s = try line()
                if s == "01" { try push(.bool(true)) } else if s == "00" { try push(.bool(false)) } else {
                    guard let v = Int(s) else { throw corrupt("bad INT literal '\(s)'") }
                    try push(.int(v))
                }
            case 0x4C:  // LONG (text)
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let v = Int(s) else { throw corrupt("LONG literal '\(s)' does not fit 64 bits") }
                try push(.int(v))
            case 0x46:  // FLOAT (text)
                let s = try line()
                guard let v = Double(s) else { throw corrupt("bad FLOAT literal '\(s)'") }
                try push(.float(v))

            // Strings and bytes.
            case 0x58: try push(.string(try text(try length(try le(4)))))  // BINUNICODE
            case 0x8C: try push(.string(try text(try u8())))  // SHORT_BINUNICODE
            case 0x8D: try push(.string(try text(try length(try le(8)))))  // BINUNICODE8
            case 0x55:  // SHORT_BINSTRING (Python 2 str); decoded as latin-1-compatible UTF-8 when possible
                let b = try raw(try u8())
                try push(String(validating: b, as: UTF8.self).map { .string($0) } ?? .bytes(Array(b)))
            case 0x54:  // BINSTRING
                let n = Int(Int32(bitPattern: UInt32(try le(4))))
                guard n >= 0 else { throw corrupt("negative BINSTRING length") }
                let b = try raw(n)
                try push(String(validating: b, as: UTF8.self).map { .string($0) } ?? .bytes(Array(b)))
            case 0x43: try push(.bytes(Array(try raw(try u8()))))  // SHORT_BINBYTES
            case 0x42: try push(.bytes(Array(try raw(try length(try le(4))))))  // BINBYTES
            case 0x8E: try push(.bytes(Array(try raw(try length(try le(8))))))  // BINBYTES8

            // Containers.
            case 0x29: try push(arena.tuple([]))  // EMPTY_TUPLE
            case 0x74: try push(arena.tuple(try popToMark()))  // TUPLE
            case 0x85: let a = try pop(); try push(arena.tuple([a]))  // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); try push(arena.tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); try push(arena.tuple([a, b, c]))  // TUPLE3
            case 0x5D: try push(arena.list())  // EMPTY_LIST
            case 0x6C: try push(arena.list(try popToMark()))  // LIST
            case 0x61: let v = try pop(); try append(try top(), [v])  // APPEND
            case 0x65: let items = try popToMark(); try append(try top(), items)  // APPENDS
            case 0x7D: try push(.dict(arena.dict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let d = arena.dict()
                let items = try popToMark()
                try push(.dict(d))
                try setItems(.dict(d), items)
            case 0x73: let v = try pop(), k = try pop(); try setItems(try top(), [k, v])  // SETITEM
            case 0x75: let items = try popToMark(); try setItems(try top(), items)  // SETITEMS
            case 0x8F: try push(arena.list())  // EMPTY_SET (a set of plain values; kept as a list)
            case 0x90: let items = try popToMark(); try append(try top(), items)  // ADDITEMS
            case 0x91: try push(arena.list(try popToMark()))  // FROZENSET

            // Memo.
            case 0x71: try put(Int(try le(1)))  // BINPUT
            case 0x72: try put(Int(try le(4)))  // LONG_BINPUT
            case 0x94: try put(memo.count)  // MEMOIZE
            case 0x70:  // PUT (text)
                guard let i = Int(try line()) else { throw corrupt("bad PUT index") }
                try put(i)
            case 0x68: try push(try memoGet(Int(try le(1))))  // BINGET
            case 0x6A: try push(try memoGet(Int(try le(4))))  // LONG_BINGET
            case 0x67:  // GET (text)
                guard let i = Int(try line()) else { throw corrupt("bad GET index") }
                try push(try memoGet(i))

            // Globals and object construction: the only places code could run, hence the allow-list.
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                try push(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                let nameValue = try pop(), moduleValue = try pop()
                guard case .string(let module) = moduleValue, case .string(let name) = nameValue else {
                    throw corrupt("STACK_GLOBAL needs two strings")
                }
                try push(try global(module, name))
            case 0x52:  // REDUCE
                let args = try pop(), callable = try pop()
                try push(try reduce(callable, args, arena: arena, charge: charge))
            case 0x81, 0x92:  // NEWOBJ, NEWOBJ_EX
                if op == 0x92 { _ = try pop() }  // kwargs
                _ = try pop()  // args: TorchScript passes ()
                let cls = try pop()
                guard case .global(let g) = cls else { throw corrupt("NEWOBJ on a \(cls.kind)") }
                guard case .scriptClass(let name) = g else {
                    let (m, n) = g.moduleAndName
                    throw CheckpointError.forbiddenGlobal(module: m, name: n)
                }
                try push(arena.object(className: name))
            case 0x62:  // BUILD
                let state = try pop()
                try build(try top(), state, charge: charge)
            case 0x51:  // BINPERSID
                try push(try persistentLoad(try pop()))
            case 0x69, 0x6F:  // INST, OBJ: instantiate arbitrary classes by name
                throw corrupt("opcode \(op == 0x69 ? "INST" : "OBJ") (arbitrary class instantiation) is refused")
            case 0x82, 0x83, 0x84:  // EXT1/2/4: globals through the copyreg extension registry
                throw corrupt("extension-registry opcode EXT at byte \(opAt) is refused")
            default:
                throw corrupt("unsupported pickle opcode 0x\(String(op, radix: 16)) at byte \(opAt)")
            }
        }
    }

    /// Applies an allow-listed callable. Everything else, including allow-listed classes that are not
    /// callables (storage types, dtypes, TorchScript classes), is refused. `charge` takes the work done.
    private func reduce(
        _ callable: PickleValue, _ args: PickleValue, arena: PickleArena, charge: (Int) throws -> Void
    ) throws -> PickleValue {
        var (callable, args) = (callable, args)
        // `_rebuild_from_type_v2(func, type, args, state)` calls `func(*args)`; a file can nest it a million
        // deep, so it is unwrapped by this loop, not by recursion.
        while true {
            try charge(1)
            guard case .global(let g) = callable else { throw corrupt("REDUCE on a \(callable.kind)") }
            guard case .tuple(let t) = args else { throw corrupt("REDUCE arguments for \(g.qualifiedName) are a \(args.kind), not a tuple") }
            let a = t.items
            func arity(_ counts: ClosedRange<Int>) throws {
                guard counts.contains(a.count) else {
                    throw corrupt("\(g.qualifiedName) called with \(a.count) arguments")
                }
            }
            switch g {
            case .orderedDict:
                let d = arena.dict()
                try arity(0...1)
                if let items = a.first {  // OrderedDict([[key, value], ...]) from old writers
                    guard case .list(let l) = items else { throw corrupt("OrderedDict argument is a \(items.kind)") }
                    try charge(l.items.count)
                    for pair in l.items {
                        let kv: [PickleValue]
                        switch pair {
                        case .tuple(let t): kv = t.items
                        case .list(let l): kv = l.items
                        default: kv = []
                        }
                        guard kv.count == 2 else { throw corrupt("OrderedDict item is not a key-value pair") }
                        try charge(Self.keyCost(kv[0]))
                        d.set(kv[0], kv[1])
                    }
                }
                return .dict(d)
            case .rebuildTensor:
                try arity(4...4)
                return .tensor(try tensor(a[0], a[1], a[2], a[3], dtype: nil))
            case .rebuildTensorV2:
                try arity(6...7)
                return .tensor(try tensor(a[0], a[1], a[2], a[3], dtype: nil))
            case .rebuildTensorV3:
                try arity(7...8)
                guard case .global(.dtype(let dt)) = a[6] else { throw corrupt("_rebuild_tensor_v3 dtype is a \(a[6].kind)") }
                return .tensor(try tensor(a[0], a[1], a[2], a[3], dtype: dt))
            case .rebuildParameter:
                try arity(3...3)
                return a[0]
            case .rebuildParameterWithState:
                try arity(4...4)
                return a[0]
            case .rebuildFromTypeV2:
                try arity(4...4)  // (func, type, args, state): the tensor comes from func(*args)
                (callable, args) = (a[0], a[2])
            case .jitIdentity(let name):
                try arity(name == "restore_type_tag" ? 2...2 : 1...1)
                return a[0]
            case .storageType, .tensorClass, .dtype, .scriptClass:
                let (m, n) = g.moduleAndName
                throw CheckpointError.forbiddenGlobal(module: m, name: n)
            }
        }
    }

    private func tensor(_ storage: PickleValue, _ offset: PickleValue, _ size: PickleValue, _ stride: PickleValue, dtype: String?) throws -> PickleTensor {
        guard case .storage(let s) = storage else { throw corrupt("tensor rebuilt from a \(storage.kind), not a storage") }
        guard case .int(let off) = offset else { throw corrupt("tensor storage offset is a \(offset.kind)") }
        func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
            let items: [PickleValue]
            switch v {
            case .tuple(let t): items = t.items
            case .list(let l): items = l.items
            default: throw corrupt("tensor \(what) is a \(v.kind)")
            }
            // Checked before the copy: the same huge tuple could be passed again and again.
            guard items.count <= Checkpoint.maxRank else { throw corrupt("tensor \(what) has \(items.count) dimensions, more than \(Checkpoint.maxRank)") }
            return try items.map {
                guard case .int(let i) = $0 else { throw corrupt("tensor \(what) holds a \($0.kind)") }
                return i
            }
        }
        let shape = try ints(size, "size"), strides = try ints(stride, "stride")
        guard shape.count == strides.count else { throw corrupt("tensor size \(shape) and stride \(strides) differ in rank") }
        return PickleTensor(storage: s, dtypeName: dtype ?? s.typeName, offset: off, shape: shape, strides: strides)
    }

    /// BUILD: sets a TorchScript object's attributes. On an OrderedDict the state is its instance `__dict__`
    /// (PyTorch's `_metadata`), not items, so it is dropped; tensors ignore theirs (hooks, Parameter state).
    private func build(_ target: PickleValue, _ state: PickleValue, charge: (Int) throws -> Void) throws {
        switch target {
        case .object(let o):
            if case .dict(let d) = state {
                for (k, v) in d.entries {
                    try charge(Self.keyCost(k))
                    o.attributes.set(k, v)
                }
            } else {
                o.otherState = state
            }
        case .dict, .tensor:
            break
        default:
            throw corrupt("BUILD on a \(target.kind) is refused")
        }
    }
}
