import Foundation
import Glibc

/// Small POSIX helpers for crash-safe writes (the models directory, previews).
enum AtomicFile {
    /// A new file beside `path` (same directory, so a rename replaces `path` atomically), named
    /// unpredictably and created exclusively without following links: a file or link planted under
    /// the name is never written through. Returns its descriptor (read-write: some savers read back what
    /// they wrote) and path.
    static func createTemporary(beside path: String, mode: mode_t = 0o666) throws -> (descriptor: Int32, path: String) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        for _ in 0..<16 {
            let name = ".\(url.lastPathComponent).\(String(UInt64.random(in: .min ... .max), radix: 16)).tmp"
            let candidate = (directory as NSString).appendingPathComponent(name)
            let fd = open(candidate, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            if fd >= 0 { return (fd, candidate) }
            if errno != EEXIST { break }
        }
        throw StyleFilterError(.cannotCreateOutput, "cannot create '\(path)': \(String(cString: strerror(errno)))")
    }

    /// Writes `data` to a temporary sibling, fsyncs it, renames it over `path`, then fsyncs the directory.
    static func write(_ data: Data, to path: String) throws {
        let (fd, temporary) = try createTemporary(beside: path, mode: 0o644)
        var failure: Int32 = 0
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure != 0 {
            unlink(temporary)
            throw StyleFilterError(.cannotCreateOutput, "cannot write '\(temporary)': \(String(cString: strerror(failure)))")
        }
        try rename(temporary, to: path)
    }

    /// Renames and fsyncs the containing directory so the new name survives a crash.
    static func rename(_ from: String, to path: String) throws {
        guard Glibc.rename(from, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(from)
            throw StyleFilterError(.cannotCreateOutput, "cannot rename '\(from)' to '\(path)': \(reason)")
        }
        syncDirectory(of: path)
    }

    static func syncDirectory(of path: String) {
        let directory = (path as NSString).deletingLastPathComponent
        let fd = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    /// Size and modification time of the file at `path` (following symlinks), or nil when absent.
    static func fileInfo(_ path: String) -> (size: Int64, modification: Double)? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let modification = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return (Int64(info.st_size), modification)
    }
}
