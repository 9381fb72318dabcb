import StyleFilter

/// sysexits-style exit statuses (see README "Exit codes").
enum ExitStatus: Int32 {
    case success = 0
    case failure = 1
    case usage = 64
    case dataError = 65
    case noInput = 66
    case cannotCreate = 73
    case ioError = 74

    init(_ kind: StyleFilterError.Kind) {
        switch kind {
        case .usage: self = .usage
        case .badInput: self = .dataError
        case .missingInput: self = .noInput
        case .cannotCreateOutput: self = .cannotCreate
        case .writeFailed: self = .ioError
        case .failure: self = .failure
        }
    }
}
