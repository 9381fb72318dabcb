/// Why a diffusion schedule, respacing or sampling step could not be set up. Each case reads as one line.
public enum DiffusionError: Error, CustomStringConvertible, Equatable {
    case unknownSchedule(String)
    case invalidStepCount(Int)
    case invalidBetas(String)
    case invalidRespacing(spec: String, reason: String)
    case timestepOutOfRange(Int, stepCount: Int)
    case shapeMismatch(String)
    case missingNoise(shape: [Int])

    public var description: String {
        switch self {
        case .unknownSchedule(let name): return "unknown beta schedule '\(name)' (expected 'linear' or 'cosine')"
        case .invalidStepCount(let n): return "diffusion step count must be at least 1, got \(n)"
        case .invalidBetas(let reason): return "invalid beta schedule: \(reason)"
        case .invalidRespacing(let spec, let reason): return "invalid timestep respacing '\(spec)': \(reason)"
        case .timestepOutOfRange(let t, let n): return "timestep index \(t) is outside 0..<\(n)"
        case .shapeMismatch(let reason): return "diffusion shape mismatch: \(reason)"
        case .missingNoise(let shape): return "this sampling step adds noise but none was given (expected shape \(shape))"
        }
    }
}
