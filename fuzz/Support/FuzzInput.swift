#if canImport(Glibc)
import Glibc
#endif
@testable import Engine

/// What every target does with an input: the readers take paths (they memory-map files), so the input is
/// written to one file per process in tmpfs and read back through the real code path.
enum FuzzInput {
    static let path = "/dev/shm/stylefilter-fuzz-\(getpid())"

    /// Writes the input to `path` and runs `body` on it.
    static func withFile(_ data: UnsafePointer<UInt8>, _ size: Int, _ body: (String) -> Void) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(fd >= 0, "cannot create \(path)")
        var written = 0
        while written < size {
            let n = write(fd, data + written, size - written)
            precondition(n > 0, "cannot write \(path)")
            written += n
        }
        close(fd)
        body(path)
    }

    /// Opens the input with `open` and reads every tensor (the reader targets' whole body). Returns 0, as libFuzzer wants.
    static func readAll(_ data: UnsafePointer<UInt8>, _ size: Int, _ open: (String) throws -> any TensorArchive) -> CInt {
        withFile(data, size) { path in
            if let archive = try? open(path) { readAll(archive) }
        }
        return 0
    }

    /// Reads every tensor as a network would (through `WeightStore`, so the finiteness scan runs too). Errors
    /// are the expected outcome for most inputs; only a trap, a hang or unbounded memory is a finding.
    static func readAll(_ archive: any TensorArchive) {
        let store = WeightStore(archive)
        for name in archive.tensorNames {
            _ = archive.shape(of: name)
            _ = archive.dtype(of: name)
            _ = try? store.tensor(name)
        }
    }
}
