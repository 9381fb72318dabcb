/// Why a checkpoint or one of its tensors could not be used. Each case reads as one line for users.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case unsupportedFormat(path: String, reason: String)
    case unsupportedDType(name: String, dtype: String)
    case missingTensor(name: String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case forbiddenGlobal(module: String, name: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read checkpoint '\(path)': \(reason)"
        case .corrupt(let path, let reason): return "checkpoint '\(path)' is corrupt: \(reason)"
        case .unsupportedFormat(let path, let reason): return "checkpoint '\(path)' has an unsupported format: \(reason)"
        case .unsupportedDType(let name, let dtype): return "tensor '\(name)' has unsupported dtype \(dtype)"
        case .missingTensor(let name): return "checkpoint has no tensor named '\(name)'"
        case .shapeMismatch(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case .forbiddenGlobal(let module, let name):
            return "checkpoint pickle refers to '\(module).\(name)', which is not a tensor-rebuilding global; refusing to load it"
        }
    }
}
