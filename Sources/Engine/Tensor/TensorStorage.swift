#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Contiguous float32 memory shared by tensors.
///
/// Storage either owns its memory (64-byte aligned; large blocks come from and go back to the
/// engine's `BufferPool`, so the next pass reuses them instead of page-faulting fresh memory) or
/// borrows memory kept alive by `owner` (for example a memory-mapped checkpoint), so large weights are
/// never copied.
public final class TensorStorage: @unchecked Sendable {
    /// Number of `Float` elements.
    public let count: Int
    /// Base address of the elements.
    public let pointer: UnsafeMutablePointer<Float>
    private let writable: Bool
    /// What keeps borrowed or pooled memory alive; nil for a block of our own from malloc.
    private let owner: AnyObject?

    /// Whether the memory belongs to someone else (possibly read-only, e.g. a mapped file):
    /// writers must copy it first even when they hold the only reference.
    public var isBorrowed: Bool { !writable }

    /// Allocates uninitialised storage for `count` floats.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count")
        self.count = count
        self.writable = true
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        if bytes >= BufferPool.minimumBytes {
            let buffer = PooledBuffer(bytes: bytes)
            self.pointer = buffer.pointer.bindMemory(to: Float.self, capacity: max(count, 1))
            self.owner = buffer
            return
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.owner = nil
    }

    /// Borrows `count` floats at `pointer`; `owner` is retained for as long as this storage lives.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.count = count
        self.pointer = pointer
        self.writable = false
        self.owner = owner
    }

    deinit {
        if owner == nil { free(pointer) }
    }
}
