/// A plain value built by `SafeUnpickler`. Nothing in it can execute code: callables are an allow-listed enum.
///
/// Lists, dicts and objects are classes because pickle mutates them after they are memoised (APPEND, SETITEMS,
/// BUILD act on the shared object, as in Python).
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A TorchScript module (`__torch__.*` class): an inert bag of attributes, never executed.
    case object(PickleObject)
    /// A reference to an allow-listed global (class or function).
    case global(PickleGlobal)
    /// A persistent storage reference (`('storage', torch.XStorage, key, location, numel[, view_metadata])`).
    case storage(PickleStorage)
    case tensor(PickleTensor)

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

final class PickleList {
    var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// An insertion-ordered dict. Keys that are strings or ints replace earlier equal keys, as in Python.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var index: [String: Int] = [:]

    /// Removes all entries, returning keys and values (for `SafeUnpickler.dismantle`).
    func removeAll() -> [PickleValue] {
        defer { entries = []; index = [:] }
        return entries.flatMap { [$0.key, $0.value] }
    }

    func set(_ key: PickleValue, _ value: PickleValue) {
        let id: String?
        switch key {
        case .string(let s): id = "s" + s
        case .int(let i): id = "i\(i)"
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

final class PickleObject {
    /// Qualified class name, e.g. `__torch__.clip.model.CLIP`.
    let className: String
    /// The attribute dict from BUILD (parameters, buffers, submodules, plain attributes).
    var attributes = PickleDict()
    /// A non-dict BUILD state (kept, never interpreted).
    var otherState: PickleValue?
    init(className: String) { self.className = className }
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

    /// Unpickles `bytes` and hands the root value to `body`. Every value built is torn down afterwards,
    /// iteratively, so that a hostile, deeply nested pickle cannot overflow the stack when it is freed;
    /// `body` must copy out what it needs (tensor descriptions are plain structs).
    func load<R>(_ bytes: [UInt8], _ body: (PickleValue) throws -> R) throws -> R {
        try bytes.withUnsafeBytes { data in try load(data) { root, _ in try body(root) } }
    }

    /// Unpickles the pickle at the start of `data`, which may go on past it (the legacy `torch.save` format is
    /// several pickles back to back, then raw data), and hands `body` the root and the byte offset just past
    /// the pickle's STOP. Teardown as in `load(_:_:)`.
    func load<R>(_ data: UnsafeRawBufferPointer, _ body: (_ root: PickleValue, _ end: Int) throws -> R) throws -> R {
        var stack: [PickleValue] = []
        var memo: [Int: PickleValue] = [:]
        let result: Result<R, any Error>
        do {
            let (root, end) = try run(data, &stack, &memo)
            result = Result { try body(root, end) }
        } catch {
            result = .failure(error)
        }
        // The machine's stack and memo now hold the only references; hand them over so that the teardown
        // releases every value from its work list (immutable tuples cannot be emptied in place).
        var all = stack + Array(memo.values)
        stack = []
        memo = [:]
        Self.dismantle(&all)
        return try result.get()
    }

    /// Empties every container reachable from `work` with an explicit work list (no recursion), consuming it.
    static func dismantle(_ work: inout [PickleValue]) {
        while let v = work.popLast() {
            switch v {
            case .tuple(let items): work.append(contentsOf: items)
            case .list(let l):
                work.append(contentsOf: l.items)
                l.items = []
            case .dict(let d): work.append(contentsOf: d.removeAll())
            case .object(let o):
                work.append(contentsOf: o.attributes.removeAll())
                if let other = o.otherState { work.append(other) }
                o.otherState = nil
            default: break
            }
        }
    }

    /// Runs the machine; `stack` and `memo` belong to the caller so that it can dismantle them.
    /// Returns the root value and the offset just past STOP.
    private func run(_ data: UnsafeRawBufferPointer, _ stack: inout [PickleValue], _ memo: inout [Int: PickleValue]) throws -> (PickleValue, Int) {
        var marks: [Int] = []
        var pos = 0

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
            for i in stride(from: 0, to: items.count, by: 2) { d.set(items[i], items[i + 1]) }
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
            case 0x32: stack.append(try top())  // DUP

            // Constants and numbers.
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x4B: stack.append(.int(Int(try le(1))))  // BININT1
            case 0x4D: stack.append(.int(Int(try le(2))))  // BININT2
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: UInt32(try le(4))))))  // BININT
            case 0x8A: stack.append(.int(try twosComplement(try u8())))  // LONG1
            case 0x8B: stack.append(.int(try twosComplement(try length(try le(4)))))  // LONG4
            case 0x47: stack.append(.float(Double(bitPattern: try le(8).byteSwapped)))  // BINFLOAT (big-endian)
            case 0x49:  // INT (text; "01"/"00" are protocol-0 booleans)
                let s = try line()
                if s == "01" { stack.append(.bool(true)) } else if s == "00" { stack.append(.bool(false)) } else {
                    guard let v = Int(s) else { throw corrupt("bad INT literal '\(s)'") }
                    stack.append(.int(v))
                }
            case 0x4C:  // LONG (text)
                var s = try line()
                if s.hasSuffix("L") { s.removeLast() }
                guard let v = Int(s) else { throw corrupt("LONG literal '\(s)' does not fit 64 bits") }
                stack.append(.int(v))
            case 0x46:  // FLOAT (text)
                let s = try line()
                guard let v = Double(s) else { throw corrupt("bad FLOAT literal '\(s)'") }
                stack.append(.float(v))

            // Strings and bytes.
            case 0x58: stack.append(.string(try text(try length(try le(4)))))  // BINUNICODE
            case 0x8C: stack.append(.string(try text(try u8())))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(try length(try le(8)))))  // BINUNICODE8
            case 0x55:  // SHORT_BINSTRING (Python 2 str); decoded as latin-1-compatible UTF-8 when possible
                let b = try raw(try u8())
                stack.append(String(validating: b, as: UTF8.self).map { .string($0) } ?? .bytes(Array(b)))
            case 0x54:  // BINSTRING
                let n = Int(Int32(bitPattern: UInt32(try le(4))))
                guard n >= 0 else { throw corrupt("negative BINSTRING length") }
                let b = try raw(n)
                stack.append(String(validating: b, as: UTF8.self).map { .string($0) } ?? .bytes(Array(b)))
            case 0x43: stack.append(.bytes(Array(try raw(try u8()))))  // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(Array(try raw(try length(try le(4))))))  // BINBYTES
            case 0x8E: stack.append(.bytes(Array(try raw(try length(try le(8))))))  // BINBYTES8

            // Containers.
            case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popToMark()))  // TUPLE
            case 0x85: let a = try pop(); stack.append(.tuple([a]))  // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
            case 0x6C: stack.append(.list(PickleList(try popToMark())))  // LIST
            case 0x61: let v = try pop(); try append(try top(), [v])  // APPEND
            case 0x65: let items = try popToMark(); try append(try top(), items)  // APPENDS
            case 0x7D: stack.append(.dict(PickleDict()))  // EMPTY_DICT
            case 0x64:  // DICT
                let d = PickleDict()
                let items = try popToMark()
                stack.append(.dict(d))
                try setItems(.dict(d), items)
            case 0x73: let v = try pop(), k = try pop(); try setItems(try top(), [k, v])  // SETITEM
            case 0x75: let items = try popToMark(); try setItems(try top(), items)  // SETITEMS
            case 0x8F: stack.append(.list(PickleList()))  // EMPTY_SET (a set of plain values; kept as a list)
            case 0x90: let items = try popToMark(); try append(try top(), items)  // ADDITEMS
            case 0x91: stack.append(.list(PickleList(try popToMark())))  // FROZENSET

            // Memo.
            case 0x71: memo[Int(try le(1))] = try top()  // BINPUT
            case 0x72: memo[Int(try le(4))] = try top()  // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()  // MEMOIZE
            case 0x70:  // PUT (text)
                guard let i = Int(try line()) else { throw corrupt("bad PUT index") }
                memo[i] = try top()
            case 0x68: stack.append(try memoGet(Int(try le(1))))  // BINGET
            case 0x6A: stack.append(try memoGet(Int(try le(4))))  // LONG_BINGET
            case 0x67:  // GET (text)
                guard let i = Int(try line()) else { throw corrupt("bad GET index") }
                stack.append(try memoGet(i))

            // Globals and object construction: the only places code could run, hence the allow-list.
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                let nameValue = try pop(), moduleValue = try pop()
                guard case .string(let module) = moduleValue, case .string(let name) = nameValue else {
                    throw corrupt("STACK_GLOBAL needs two strings")
                }
                stack.append(try global(module, name))
            case 0x52:  // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x81, 0x92:  // NEWOBJ, NEWOBJ_EX
                if op == 0x92 { _ = try pop() }  // kwargs
                _ = try pop()  // args: TorchScript passes ()
                let cls = try pop()
                guard case .global(let g) = cls else { throw corrupt("NEWOBJ on a \(cls.kind)") }
                guard case .scriptClass(let name) = g else {
                    let (m, n) = g.moduleAndName
                    throw CheckpointError.forbiddenGlobal(module: m, name: n)
                }
                stack.append(.object(PickleObject(className: name)))
            case 0x62:  // BUILD
                let state = try pop()
                try build(try top(), state)
            case 0x51:  // BINPERSID
                stack.append(try persistentLoad(try pop()))
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
    /// callables (storage types, dtypes, TorchScript classes), is refused.
    private func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let g) = callable else { throw corrupt("REDUCE on a \(callable.kind)") }
        guard case .tuple(let a) = args else { throw corrupt("REDUCE arguments for \(g.qualifiedName) are a \(args.kind), not a tuple") }
        func arity(_ counts: ClosedRange<Int>) throws {
            guard counts.contains(a.count) else {
                throw corrupt("\(g.qualifiedName) called with \(a.count) arguments")
            }
        }
        switch g {
        case .orderedDict:
            let d = PickleDict()
            try arity(0...1)
            if let items = a.first {  // OrderedDict([[key, value], ...]) from old writers
                guard case .list(let l) = items else { throw corrupt("OrderedDict argument is a \(items.kind)") }
                for pair in l.items {
                    switch pair {
                    case .tuple(let kv) where kv.count == 2: d.set(kv[0], kv[1])
                    case .list(let kv) where kv.items.count == 2: d.set(kv.items[0], kv.items[1])
                    default: throw corrupt("OrderedDict item is not a key-value pair")
                    }
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
            return try reduce(a[0], a[2])
        case .jitIdentity(let name):
            try arity(name == "restore_type_tag" ? 2...2 : 1...1)
            return a[0]
        case .storageType, .tensorClass, .dtype, .scriptClass:
            let (m, n) = g.moduleAndName
            throw CheckpointError.forbiddenGlobal(module: m, name: n)
        }
    }

    private func tensor(_ storage: PickleValue, _ offset: PickleValue, _ size: PickleValue, _ stride: PickleValue, dtype: String?) throws -> PickleTensor {
        guard case .storage(let s) = storage else { throw corrupt("tensor rebuilt from a \(storage.kind), not a storage") }
        guard case .int(let off) = offset else { throw corrupt("tensor storage offset is a \(offset.kind)") }
        func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
            let items: [PickleValue]
            switch v {
            case .tuple(let t): items = t
            case .list(let l): items = l.items
            default: throw corrupt("tensor \(what) is a \(v.kind)")
            }
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
    private func build(_ target: PickleValue, _ state: PickleValue) throws {
        switch target {
        case .object(let o):
            if case .dict(let d) = state {
                for (k, v) in d.entries { o.attributes.set(k, v) }
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
