/// What the two PyTorch readers (zip and legacy `torch.save`) share once a pickle is unpickled: naming the
/// tensors of the object tree, checking each strided view against its storage, and gathering a view into
/// row-major float32.
enum TorchTensorLayout {
    /// Maximum nesting of containers walked for tensors (the walk recurses, one frame per level).
    static let maxDepth = 256
    /// Work of one walk, in values visited plus bytes of names built. A container shared by several paths is
    /// walked once per path (each path names its tensors), so without a bound a pickle of a few hundred bytes
    /// (100 tuples, each holding the previous one twice) asks for 2^100 visits, and a long key above many
    /// tensors for names of gigabytes. Real checkpoints need well under a million.
    static let maxWalkWork = 1 << 24

    /// Every tensor reachable from `root`, named by its dotted path: a state dict's own keys; for nested dicts
    /// the keys joined with "."; for TorchScript the module attribute path. Throws when there is none.
    static func namedTensors(in root: PickleValue, path: String, record: String) throws -> [(String, PickleTensor)] {
        var walk = TensorWalk(path: path, record: record)
        try walk.collect(root, prefix: "", depth: 0)
        guard !walk.found.isEmpty else {
            throw CheckpointError.unsupportedFormat(path: path, reason: "\(record) holds no named tensors (its top-level object is a \(root.kind))")
        }
        return walk.found
    }

    /// One walk over dicts, TorchScript objects, lists and tuples, naming tensors by their dotted path.
    private struct TensorWalk {
        let path: String
        let record: String
        var found: [(String, PickleTensor)] = []
        /// Containers on the current path: a container that contains itself is not entered again.
        var onPath = Set<ObjectIdentifier>()
        /// Containers whose walk found no tensor: skipped when reached again (shared non-tensor structure is
        /// walked once, not once per path).
        var barren = Set<ObjectIdentifier>()
        var work = 0

        mutating func charge(_ units: Int) throws {
            work += units
            guard work <= maxWalkWork else {
                throw CheckpointError.corrupt(
                    path: path, reason: "\(record) is a graph of shared containers that would take more than \(maxWalkWork) steps to name its tensors")
            }
        }

        mutating func collect(_ value: PickleValue, prefix: String, depth: Int) throws {
            guard depth <= maxDepth else {
                throw CheckpointError.corrupt(path: path, reason: "\(record) nests containers deeper than \(maxDepth) levels")
            }
            try charge(1)
            switch value {
            case .tensor(let t):
                if !prefix.isEmpty { found.append((prefix, t)) }
            case .dict(let d): try visit(d, prefix: prefix, depth: depth) { Self.named(d) }
            case .object(let o): try visit(o, prefix: prefix, depth: depth) { Self.named(o.attributes) }
            case .list(let l): try visit(l, prefix: prefix, depth: depth) { l.items.enumerated().map { (String($0.offset), $0.element) } }
            case .tuple(let t): try visit(t, prefix: prefix, depth: depth) { t.items.enumerated().map { (String($0.offset), $0.element) } }
            default: break
            }
        }

        private mutating func visit(
            _ container: AnyObject, prefix: String, depth: Int, _ children: () -> [(String, PickleValue)]
        ) throws {
            let id = ObjectIdentifier(container)
            guard !barren.contains(id), onPath.insert(id).inserted else { return }
            defer { onPath.remove(id) }
            let before = found.count
            for (key, child) in children() {
                let name = prefix.isEmpty ? key : prefix + "." + key
                try charge(name.utf8.count)
                try collect(child, prefix: name, depth: depth + 1)
            }
            if found.count == before { barren.insert(id) }
        }

        static func named(_ d: PickleDict) -> [(String, PickleValue)] {
            d.entries.compactMap { entry in
                switch entry.key {
                case .string(let s): return (s, entry.value)
                case .int(let i): return (String(i), entry.value)
                default: return nil  // keys without a name cannot hold addressable weights
                }
            }
        }
    }

    /// Most elements of a view that reads some storage elements more than once (a stride of 0 or overlapping
    /// strides, as `expand` makes): other views hold at most their storage's elements, which the file holds,
    /// but such a view is materialised at its full size, which nothing else bounds.
    static let maxRepeatingViewElements = 1 << 24

    /// Checks that every element of the view (element `i` at `offset + Σ iₖ·strideₖ`) lies inside a storage of
    /// `storageElements` elements, so that reads can never leave it. Returns a reason when it does not.
    static func viewProblem(shape: [Int], strides: [Int], offset: Int, storageElements: Int) -> String? {
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            return "negative size, stride or offset (size \(shape), stride \(strides), offset \(offset))"
        }
        var count = 1, last = offset, overflow = false
        for (n, s) in zip(shape, strides) {
            let (c, oc) = count.multipliedReportingOverflow(by: n)
            let (span, os) = (max(n, 1) - 1).multipliedReportingOverflow(by: s)
            let (l, ol) = last.addingReportingOverflow(span)
            count = c
            last = l
            overflow = overflow || oc || os || ol
        }
        if overflow { return "size \(shape) with stride \(strides) overflows" }
        if count > 0, last >= storageElements {
            return "view (offset \(offset), size \(shape), stride \(strides)) reaches element \(last) of a \(storageElements)-element storage"
        }
        if count > storageElements, count > maxRepeatingViewElements {
            return "view of \(count) elements (size \(shape), stride \(strides)) repeats elements of its \(storageElements)-element storage; more than \(maxRepeatingViewElements) are refused"
        }
        return nil
    }

    /// Checks a pickled tensor's view against its storage of `storageElements` elements of its dtype
    /// (nil: a dtype without a float32 conversion, whose view is only checked for negative values, as
    /// it is never read). Throws `corrupt` naming the tensor.
    static func checkView(name: String, _ t: PickleTensor, dtype: DType?, storageElements: () throws -> Int, path: String) throws {
        var problem: String?
        if dtype != nil {
            problem = viewProblem(shape: t.shape, strides: t.strides, offset: t.offset, storageElements: try storageElements())
        } else if t.offset < 0 || t.shape.contains(where: { $0 < 0 }) || t.strides.contains(where: { $0 < 0 }) {
            problem = "negative size, stride or offset (size \(t.shape), stride \(t.strides), offset \(t.offset))"
        }
        if let problem { throw CheckpointError.corrupt(path: path, reason: "tensor '\(name)': \(problem)") }
    }

    /// The float32 tensor of a checked view of a storage at `base`. A float32, little-endian, row-major,
    /// aligned view of memory that `owner` keeps alive (a file mapping) is borrowed, so a 2 GB
    /// checkpoint is not copied; any other view is gathered and converted.
    static func tensor(
        at base: UnsafeRawPointer, dtype: DType, bigEndian: Bool, shape: [Int], strides: [Int], offset: Int, owner: AnyObject?
    ) -> Tensor {
        let count = Tensor.elementCount(shape)
        if count == 0 { return Tensor(uninitializedShape: shape) }
        if let owner, dtype == .f32, !bigEndian, isRowMajor(shape, strides) {
            let start = base + offset * 4
            if Int(bitPattern: start) % MemoryLayout<Float>.alignment == 0 {
                let p = UnsafeMutablePointer(mutating: start.assumingMemoryBound(to: Float.self))
                return Tensor(shape: shape, storage: TensorStorage(borrowing: p, count: count, owner: owner))
            }
        }
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { dst in
            gather(base, dtype: dtype, bigEndian: bigEndian, shape: shape, strides: strides, offset: offset, into: dst.baseAddress!)
        }
        return t
    }

    /// Whether `strides` are the row-major strides of `shape` (size-1 dimensions may have any stride).
    static func isRowMajor(_ shape: [Int], _ strides: [Int]) -> Bool {
        var expected = 1
        for i in shape.indices.reversed() {
            if shape[i] != 1 && strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    /// Copies a strided view (element `i` at `offset + Σ iₖ·strideₖ`) into row-major float32.
    static func gather(
        _ src: UnsafeRawPointer, dtype: DType, bigEndian: Bool, shape: [Int], strides: [Int], offset: Int,
        into dst: UnsafeMutablePointer<Float>
    ) {
        let size = dtype.size
        let inner = shape.last ?? 1
        let innerStride = strides.last ?? 1
        let outerShape = Array(shape.dropLast()), outerStrides = Array(strides.dropLast())
        var swapped = bigEndian ? [UInt8](repeating: 0, count: inner * size) : []

        func convertRun(_ element: Int, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
            let p = src + element * size
            if bigEndian {
                swapped.withUnsafeMutableBytes { buf in
                    for i in 0..<(n * size) { buf[i] = p.load(fromByteOffset: (i / size) * size + (size - 1 - i % size), as: UInt8.self) }
                    dtype.convertToFloat(UnsafeRawPointer(buf.baseAddress!), count: n, into: out)
                }
            } else {
                dtype.convertToFloat(p, count: n, into: out)
            }
        }

        var index = [Int](repeating: 0, count: outerShape.count)
        var written = 0
        let rows = outerShape.reduce(1, *)
        for _ in 0..<rows {
            var base = offset
            for k in index.indices { base += index[k] * outerStrides[k] }
            if innerStride == 1 || inner == 1 {
                convertRun(base, inner, dst + written)
            } else {
                for j in 0..<inner { convertRun(base + j * innerStride, 1, dst + written + j) }
            }
            written += inner
            var k = index.count - 1
            while k >= 0 {
                index[k] += 1
                if index[k] < outerShape[k] { break }
                index[k] = 0
                k -= 1
            }
        }
    }
}
