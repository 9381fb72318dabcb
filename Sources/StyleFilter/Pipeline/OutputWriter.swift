import Foundation
import Glibc
import VipsBridge

/// An output opened before any work starts (so an uncreatable file fails fast) and complete only when
/// the encoded image is.
///
/// A regular file is encoded straight into an exclusively created, unpredictably named sibling, then
/// renamed into place: memory stays flat however large the output, and a failure never leaves a partial
/// file. Standard output and existing non-regular files (`/dev/null`, a FIFO; renaming over them would
/// replace the node) get their bytes only once encoding succeeded: up to ``heldPixelBytes`` of pixels the
/// encoded image is held in memory, above that it goes through an unnamed temporary file in `TMPDIR`.
final class OutputWriter {
    /// Outputs to standard output or a device whose pixels take more than this are encoded into a
    /// temporary file, not memory (an encoded image is at most about its pixels' size).
    static let heldPixelBytes = 256 << 20

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

    /// Removes the temporary file unless ``write(_:input:save:)`` succeeded.
    deinit { abandon() }

    /// Encodes `image` with `save` and puts the result in place. `input` names the input in the message
    /// of a failure that is not the output's own (a decode error half way).
    func write(_ image: VImage, input: String, save: (VTarget) throws(VipsError) -> Void) throws {
        defer { abandon() }
        if let temporary, case .file(let path) = destination {
            try encode(into: descriptor, name: "'\(path)'", input: input, save: save)
            guard close(descriptor) == 0 else {
                descriptor = -1
                throw StyleFilterError(.writeFailed, "cannot write '\(path)': \(errnoDescription())")
            }
            descriptor = -1
            guard rename(temporary, path) == 0 else {
                throw StyleFilterError(.cannotCreateOutput, "cannot create '\(path)': \(errnoDescription())")
            }
            finished = true
        } else if image.uncompressedSize <= Self.heldPixelBytes {
            let target = try wrap(.failure) { () throws(VipsError) in try VTarget.memory() }
            try wrap(.badInput, "cannot decode \(input)") { () throws(VipsError) in try save(target) }
            try target.bytes().withUnsafeBytes { try writeAll($0) }
        } else {
            let spill = try Self.unnamedTemporaryFile()
            defer { close(spill) }
            try encode(into: spill, name: "a temporary file in \(Self.temporaryDirectory)", input: input, save: save)
            try copy(from: spill)
        }
    }

    /// Encodes into `fd`, telling the file's failures (a full disk) from the image's.
    private func encode(into fd: Int32, name: String, input: String, save: (VTarget) throws(VipsError) -> Void) throws {
        let target = try wrap(.failure) { () throws(VipsError) in try VTarget.descriptor(fd) }
        do {
            try save(target)
        } catch {
            if let code = target.writeError {
                throw StyleFilterError(.writeFailed, "cannot write \(name): \(String(cString: strerror(code)))")
            }
            throw StyleFilterError(.badInput, "cannot decode \(input): \(error.message)")
        }
    }

    private static var temporaryDirectory: String {
        ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
    }

    /// A file with no name (gone when closed, whatever happens to the process).
    private static func unnamedTemporaryFile() throws -> Int32 {
        // O_TMPFILE (a macro Swift does not import): __O_TMPFILE | O_DIRECTORY.
        var fd = open(temporaryDirectory, 0o20000000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)
        if fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR) {
            // A file system without unnamed files: a new exclusive name, removed at once.
            if let (named, path) = try? AtomicFile.createTemporary(beside: temporaryDirectory + "/stylefilter-output", mode: 0o600) {
                unlink(path)
                fd = named
            }
        }
        guard fd >= 0 else {
            throw StyleFilterError(
                .cannotCreateOutput,
                "an output over \(heldPixelBytes >> 20) MiB of pixels is encoded through a temporary file: cannot create one in '\(temporaryDirectory)' (TMPDIR): \(errnoDescription())")
        }
        return fd
    }

    private func copy(from spill: Int32) throws {
        guard lseek(spill, 0, SEEK_SET) == 0 else {
            throw StyleFilterError(.writeFailed, "cannot read back the temporary file: \(errnoDescription())")
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(spill, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw StyleFilterError(.writeFailed, "cannot read back the temporary file: \(errnoDescription())") }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try writeAll(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
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

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
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
