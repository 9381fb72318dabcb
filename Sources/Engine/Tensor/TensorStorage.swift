#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Contiguous float32 memory shared by tensors.
///
/// Storage either owns a 64-byte aligned allocation (freed on deinit) or borrows memory kept
/// alive by `owner` (for example a memory-mapped checkpoint), so large weights are never copied.
public final class TensorStorage: @unchecked Sendable {
    /// Number of `Float` elements.
    public let count: Int
    /// Base address of the elements.
    public let pointer: UnsafeMutablePointer<Float>
    private let owned: Bool
    private let owner: AnyObject?

    /// Whether the memory belongs to someone else (possibly read-only, e.g. a mapped file):
    /// writers must copy it first even when they hold the only reference.
    public var isBorrowed: Bool { !owned }

    /// Allocates uninitialised storage for `count` floats.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "negative element count")
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("out of memory allocating \(bytes) bytes")
        }
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        self.owned = true
        self.owner = nil
    }

    /// Borrows `count` floats at `pointer`; `owner` is retained for as long as this storage lives.
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.count = count
        self.pointer = pointer
        self.owned = false
        self.owner = owner
    }

    deinit {
        if owned { free(pointer) }
    }
}
