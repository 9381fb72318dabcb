#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. Tensors borrowing its bytes keep it alive.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened by, for messages.
    public let path: String
    /// The file's size in bytes when it was mapped.
    public let size: Int
    /// The first byte of the read-only mapping.
    public let base: UnsafeRawPointer

    /// Maps the regular file at `path`. Anything else (a FIFO, a directory, a device such as /dev/zero) is
    /// refused with `CheckpointError.unreadable` without reading from it: opening a FIFO for reading would
    /// block until a writer appears, and a device has no size to map.
    public init(path: String) throws {
        self.path = path
        func unreadable(_ reason: String) -> CheckpointError { .unreadable(path: path, reason: reason) }
        func kind(_ mode: mode_t) -> String {
            switch mode & S_IFMT {
            case S_IFDIR: return "a directory"
            case S_IFIFO: return "a FIFO (named pipe)"
            case S_IFCHR, S_IFBLK: return "a device"
            case S_IFSOCK: return "a socket"
            default: return "not a regular file"
            }
        }
        // stat first so that a FIFO is never opened; O_NONBLOCK then covers a file swapped for a FIFO between
        // the stat and the open (the fstat below refuses it). Only mmap reads the descriptor, so the flag is harmless.
        var st = stat()
        guard stat(path, &st) == 0 else { throw unreadable(String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw unreadable("\(kind(st.st_mode)), not a regular file") }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw unreadable(String(cString: strerror(errno))) }
        defer { close(fd) }
        guard fstat(fd, &st) == 0 else { throw unreadable(String(cString: strerror(errno))) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw unreadable("\(kind(st.st_mode)), not a regular file") }
        size = Int(st.st_size)
        if size == 0 {
            // mmap refuses zero lengths; an empty file is simply zero bytes.
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64))
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw CheckpointError.unreadable(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if size == 0 {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }

    /// The bytes `[offset, offset+count)`, or nil when out of range.
    public func bytes(_ offset: Int, _ count: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else { return nil }
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }
}

extension MappedFile {
    /// The whole of a small regular file, such as the JSON config beside a checkpoint: a FIFO or a device is
    /// refused as `init(path:)` refuses it (reading one could block forever or never end), and so is a file of
    /// more than `limit` bytes. Throws `CheckpointError.unreadable`.
    public static func contents(of path: String, limit: Int = 1 << 24) throws -> [UInt8] {
        let file = try MappedFile(path: path)
        guard file.size <= limit else {
            throw CheckpointError.unreadable(path: path, reason: "\(file.size) bytes, more than the \(limit) a config file may have")
        }
        return Array(file.bytes(0, file.size)!)
    }
}
