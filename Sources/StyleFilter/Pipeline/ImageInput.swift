import Glibc
import VipsBridge

/// Where the image comes from.
public enum ImageInput: Sendable, Equatable {
    /// File descriptor 0.
    case standardInput
    /// A file path (opened as a libvips source, so the same loader allowlist applies).
    case file(String)
    /// Encoded image bytes (tests, embedding).
    case memory([UInt8])

    /// `-` means standard input.
    public init(argument: String) {
        self = argument == "-" ? .standardInput : .file(argument)
    }

    /// A short name for messages.
    public var displayName: String {
        switch self {
        case .standardInput: "standard input"
        case .file(let path): "'\(path)'"
        case .memory: "memory"
        }
    }

    func openSource() throws -> VSource {
        switch self {
        case .standardInput:
            return try wrap(.failure) { () throws(VipsError) in try VSource.descriptor(0) }
        case .file(let path):
            // Check readability ourselves: libvips' message for a missing file is not one line of ours.
            let descriptor = open(path, O_RDONLY)
            guard descriptor >= 0 else {
                throw StyleFilterError(.missingInput, "cannot open \(displayName): \(errnoDescription())")
            }
            var status = stat()
            let isDirectory = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
            close(descriptor)
            if isDirectory { throw StyleFilterError(.missingInput, "cannot read \(displayName): it is a directory") }
            return try wrap(.missingInput) { () throws(VipsError) in try VSource.file(path) }
        case .memory(let bytes):
            guard !bytes.isEmpty else { throw StyleFilterError(.badInput, "cannot read memory: input is empty") }
            return try wrap(.failure) { () throws(VipsError) in try VSource.memory(bytes) }
        }
    }
}
