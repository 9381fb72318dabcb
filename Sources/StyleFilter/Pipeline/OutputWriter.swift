import Glibc

/// Writes encoded bytes to standard output or, atomically, to a file.
enum OutputWriter {
    static func write(_ bytes: [UInt8], to destination: OutputSpec.Destination) throws {
        switch destination {
        case .standardOutput:
            try writeAll(bytes, to: 1, name: "standard output")
        case .file(let path):
            try writeFile(bytes, path: path)
        }
    }

    /// Regular files go to `FILE.tmp-<pid>` and are renamed into place, so a failure never leaves a partial
    /// file. Existing non-regular files (`/dev/null`, a FIFO) are written in place: renaming over them
    /// would replace the device node.
    private static func writeFile(_ bytes: [UInt8], path: String) throws {
        var status = stat()
        if stat(path, &status) == 0, (status.st_mode & S_IFMT) != S_IFREG {
            let descriptor = open(path, O_WRONLY | O_TRUNC)
            guard descriptor >= 0 else {
                throw StyleFilterError(.cannotCreateOutput, "cannot open '\(path)': \(errnoDescription())")
            }
            defer { close(descriptor) }
            try writeAll(bytes, to: descriptor, name: "'\(path)'")
            return
        }
        let temporary = "\(path).tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            throw StyleFilterError(.cannotCreateOutput, "cannot create '\(path)': \(errnoDescription())")
        }
        PartialOutput.set(temporary)
        defer { PartialOutput.clear() }
        do {
            try writeAll(bytes, to: descriptor, name: "'\(path)'")
            guard close(descriptor) == 0 else {
                throw StyleFilterError(.writeFailed, "cannot write '\(path)': \(errnoDescription())")
            }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = errnoDescription()
            unlink(temporary)
            throw StyleFilterError(.cannotCreateOutput, "cannot create '\(path)': \(reason)")
        }
    }

    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32, name: String) throws {
        try bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
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
public enum PartialOutput {
    nonisolated(unsafe) private static var storage: UnsafeMutablePointer<CChar>?

    /// The path to unlink on interruption, or nil (async-signal-safe to read).
    public static var path: UnsafePointer<CChar>? { UnsafePointer(storage) }

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
