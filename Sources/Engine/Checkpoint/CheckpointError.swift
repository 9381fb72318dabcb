/// Why a checkpoint or one of its tensors could not be used. Each case reads as one line for users.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or mapped (missing, permissions, not a regular file).
    case unreadable(path: String, reason: String)
    /// The file ends before the data its own structure announces.
    case truncated(path: String, reason: String)
    /// The file's structure is inconsistent (bad records, bad pickle, out-of-range tensor views).
    case corrupt(path: String, reason: String)
    /// The file is not any checkpoint format this reader knows; `leadingBytes` are its first bytes in hex.
    case unknownFormat(path: String, leadingBytes: String)
    /// A recognised format this reader deliberately does not read (tar-based `torch.save`, an nn.Module pickle, ...).
    case unsupportedFormat(path: String, reason: String)
    case unsupportedDType(name: String, dtype: String)
    case missingTensor(name: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// The pickle names (or tries to call) a Python global outside the state-dict allow-list.
    case forbiddenGlobal(module: String, name: String)
    /// A weight holds NaN or ±infinity (`value`, as text) at flat index `element`: the checkpoint is damaged or
    /// its training diverged, and every output computed from it would be NaN.
    case nonFiniteWeight(name: String, element: Int, value: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read checkpoint '\(path)': \(reason)"
        case .truncated(let path, let reason): return "checkpoint '\(path)' is truncated: \(reason)"
        case .corrupt(let path, let reason): return "checkpoint '\(path)' is corrupt: \(reason)"
        case .unknownFormat(let path, let bytes):
            return "'\(path)' is not a safetensors, torch.save or TorchScript file (it starts with bytes \(bytes))"
        case .unsupportedFormat(let path, let reason): return "checkpoint '\(path)' has an unsupported format: \(reason)"
        case .unsupportedDType(let name, let dtype): return "tensor '\(name)' has unsupported dtype \(dtype)"
        case .missingTensor(let name): return "checkpoint has no tensor named '\(name)'"
        case .shapeMismatch(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case .forbiddenGlobal(let module, let name):
            return "checkpoint pickle refers to '\(module).\(name)', which is not a tensor-rebuilding global; refusing to load it"
        case .nonFiniteWeight(let name, let element, let value):
            return "tensor '\(name)' holds \(value) at element \(element): the weights are damaged or diverged"
        }
    }
}
