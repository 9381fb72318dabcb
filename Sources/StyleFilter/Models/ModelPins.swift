import Foundation

/// The record of verified files in a models directory (`pins.json`).
///
/// For files without a published hash, the first verified fetch or import *pins* the SHA-256 and size;
/// later fetches and `verify` must match it, so a file changed on the server or on disk is caught.
/// Files with a published hash get a record too: the size and modification time seen at the last full
/// hash let `list` and `fetch` tell a file that is unchanged since then without re-hashing gigabytes.
package struct ModelPins: Codable, Sendable, Equatable {
    package struct Record: Codable, Sendable, Equatable {
        /// Lower-case hex SHA-256 of the verified file.
        package var sha256: String
        /// Exact byte count.
        package var size: Int64
        /// True when `sha256` came from upstream; false when it was pinned here.
        package var published: Bool
        /// Where the file came from (URL or imported path).
        package var source: String
        /// When the hash was first recorded (ISO 8601).
        var pinnedAt: String
        /// File modification time (seconds since 1970) at the last full verification.
        var verifiedModification: Double
    }

    package var version = 1
    /// Records by file name.
    package var files: [String: Record] = [:]

    package init() {}

    /// Reads `path`; a missing file is an empty record set, an unreadable or malformed one an error
    /// (silently dropping pins would disable the check they exist for).
    package static func load(from path: String) throws -> ModelPins {
        guard FileManager.default.fileExists(atPath: path) else { return ModelPins() }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(ModelPins.self, from: data)
        } catch {
            throw StyleFilterError(
                .modelNotUsable,
                "the pin record '\(path)' is unreadable (\(error)); fix or delete it (deleting forgets the pinned hashes)")
        }
    }

    /// Writes atomically (temporary file, fsync, rename).
    package func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        try AtomicFile.write(data, to: path)
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date())
    }
}

/// Small POSIX helpers for crash-safe writes into the models directory.
enum AtomicFile {
    /// Writes `data` to a temporary sibling, fsyncs it, renames it over `path`, then fsyncs the directory.
    static func write(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StyleFilterError(.cannotCreateOutput, "cannot write '\(temporary)': \(String(cString: strerror(errno)))") }
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
