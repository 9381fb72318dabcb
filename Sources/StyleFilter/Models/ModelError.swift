/// Why a `models` operation failed; the kind decides the exit status (sysexits).
public struct ModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Network failure, HTTP error, stall, or network forbidden by `STYLEFILTER_OFFLINE` (EX_UNAVAILABLE, 69).
        case network
        /// A model is missing, corrupt, or does not match its published or pinned checksum (EX_CONFIG, 78).
        case notUsable
        /// Bad command-line use (EX_USAGE, 64).
        case usage
        /// A file that is not any model StyleFilter knows (EX_DATAERR, 65).
        case unrecognised
        /// A file named on the command line does not exist or cannot be read (EX_NOINPUT, 66).
        case missingInput
        /// The models directory or a file in it cannot be written (EX_CANTCREAT, 73).
        case cannotWrite
    }

    public let kind: Kind
    /// One line, no trailing newline.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The process exit status for this error.
    public var exitCode: Int32 {
        switch kind {
        case .network: return 69
        case .notUsable: return 78
        case .usage: return 64
        case .unrecognised: return 65
        case .missingInput: return 66
        case .cannotWrite: return 73
        }
    }
}
