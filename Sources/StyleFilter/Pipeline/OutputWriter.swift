import Glibc

/// An output opened before any work starts (so an uncreatable file fails fast) and committed only when
/// the encoded image is complete.
///
/// Regular files are written to an exclusively created, unpredictably named sibling and renamed into place, so a failure never leaves a
/// partial file. Existing non-regular files (`/dev/null`, a FIFO) are written in place: renaming over them
/// would replace the device node.
final class OutputWriter {
    private let destination: OutputSpec.Destination
    private var descriptor: Int32 = -1
    private var temporary: String?
    private var finished = false

    init(_ destination: OutputSpec.Destination) throws {
        self.destination = destination
        guard case .file(let path) = destination else {
            descriptor = 1
            return
        }
        var status = stat()
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFREG {
            descriptor = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw StyleFilterError(.cannotCreateOutput, "cannot open '\(path)': \(errnoDescription())")
            }
            return
        }
        // Written beside the target under an unpredictable name, created exclusively (no link followed).
        let (descriptor, temporary) = try AtomicFile.createTemporary(beside: path)
        self.descriptor = descriptor
        self.temporary = temporary
        PartialOutput.set(temporary)
    }

    /// Removes the temporary file unless ``commit(_:)`` succeeded.
    deinit { abandon() }

    /// Writes all of `bytes` and moves the file into place.
    func commit(_ bytes: [UInt8]) throws {
        defer { abandon() }
        try writeAll(bytes)
        guard let temporary, case .file(let path) = destination else { return }
        guard close(descriptor) == 0 else {
            descriptor = -1
            throw StyleFilterError(.writeFailed, "cannot write '\(path)': \(errnoDescription())")
        }
        descriptor = -1
        guard rename(temporary, path) == 0 else {
            throw StyleFilterError(.cannotCreateOutput, "cannot create '\(path)': \(errnoDescription())")
        }
        finished = true
    }

    private func abandon() {
        if descriptor > 2 { close(descriptor) }
        descriptor = -1
        if let temporary, !finished { unlink(temporary) }
        if temporary != nil { PartialOutput.clear() }
        temporary = nil
    }

    private var name: String {
        switch destination {
        case .standardOutput: "standard output"
        case .file(let path): "'\(path)'"
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    // Only reached when SIGPIPE is ignored; the reader went away: end quietly.
                    if errno == EPIPE { throw StyleFilterError(.writeFailed, "") }
                    throw StyleFilterError(.writeFailed, "cannot write \(name): \(errnoDescription())")
                }
                offset += written
            }
        }
    }
}

/// The temporary output file being written, if any, so a SIGINT/SIGTERM handler can remove it.
/// Read from signal handlers: a plain C string, no Swift runtime calls.
package enum PartialOutput {
    nonisolated(unsafe) private static var storage: UnsafeMutablePointer<CChar>?

    /// The path to unlink on interruption, or nil (async-signal-safe to read).
    package static var path: UnsafePointer<CChar>? { UnsafePointer(storage) }

    static func set(_ path: String) {
        let copy = strdup(path)
        let old = storage
        storage = copy
        free(old)
    }

    static func clear() {
        let old = storage
        storage = nil
        free(old)
    }
}
