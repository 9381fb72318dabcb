/// A failure of the filter, classified so the command line can map it to a sysexits code.
public struct StyleFilterError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, which decides the exit status.
    public enum Kind: Sendable, Equatable {
        /// Bad options or geometry that does not fit the image (EX_USAGE, 64).
        case usage
        /// The input is not a decodable image, is truncated or too large (EX_DATAERR, 65).
        case badInput
        /// The input file is missing or unreadable (EX_NOINPUT, 66).
        case missingInput
        /// The output file cannot be created (EX_CANTCREAT, 73).
        case cannotCreateOutput
        /// Writing the output failed (EX_IOERR, 74).
        case writeFailed
        /// A model download failed: network error, HTTP error, stall, or the network forbidden by
        /// `STYLEFILTER_OFFLINE` (EX_UNAVAILABLE, 69).
        case unavailable
        /// A model is missing, corrupt, or does not match its published or pinned checksum (EX_CONFIG, 78).
        case modelNotUsable
        /// Anything else (1).
        case failure
    }

    public let kind: Kind
    /// One line, no trailing newline.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The sysexits status for this error.
    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .badInput: 65
        case .missingInput: 66
        case .cannotCreateOutput: 73
        case .writeFailed: 74
        case .unavailable: 69
        case .modelNotUsable: 78
        case .failure: 1
        }
    }
}
