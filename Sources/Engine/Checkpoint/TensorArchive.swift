/// A file of named tensors (safetensors, `torch.save` zip, TorchScript archive, ...).
///
/// Readers convert every floating-point dtype to float32 on access; names are the checkpoint's own.
public protocol TensorArchive: Sendable {
    /// All tensor names, in file order.
    var tensorNames: [String] { get }
    /// Shape of a tensor, or nil when there is no such name.
    func shape(of name: String) -> [Int]?
    /// The stored element type (before conversion to float32), or nil when unknown.
    func dtype(of name: String) -> DType?
    /// The tensor as float32 (borrowing mapped memory where the bytes already are float32 and aligned).
    func tensor(named name: String) throws -> Tensor
}

extension TensorArchive {
    /// Default for in-memory archives, which hold float32 tensors.
    public func dtype(of name: String) -> DType? { shape(of: name) == nil ? nil : .f32 }
}

/// Weights looked up by checkpoint name, with an optional key prefix, checking shapes on access.
///
/// Networks take a `WeightStore` and ask for `store.scoped("input_blocks.1.0")["in_layers.0.weight", [32]]`.
public struct WeightStore: Sendable {
    public let archive: any TensorArchive
    public let prefix: String

    public init(_ archive: any TensorArchive, prefix: String = "") {
        self.archive = archive
        self.prefix = prefix
    }

    /// A store whose names are relative to `component` (joined with ".").
    public func scoped(_ component: String) -> WeightStore {
        WeightStore(archive, prefix: prefix.isEmpty ? component : prefix + "." + component)
    }

    /// Full checkpoint name of a relative name.
    public func fullName(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

    /// Whether the tensor exists.
    public func contains(_ name: String) -> Bool { archive.shape(of: fullName(name)) != nil }

    /// Shape of the tensor, or nil.
    public func shape(of name: String) -> [Int]? { archive.shape(of: fullName(name)) }

    /// The tensor, required to have `shape`.
    public func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
        let full = fullName(name)
        guard let found = archive.shape(of: full) else { throw CheckpointError.missingTensor(name: full) }
        guard found == expected else { throw CheckpointError.shapeMismatch(name: full, expected: expected, found: found) }
        return try archive.tensor(named: full)
    }

    /// The tensor, whatever its shape.
    public func tensor(_ name: String) throws -> Tensor {
        let full = fullName(name)
        guard archive.shape(of: full) != nil else { throw CheckpointError.missingTensor(name: full) }
        return try archive.tensor(named: full)
    }
}
