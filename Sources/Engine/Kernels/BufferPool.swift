#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Reuses large activation buffers.
///
/// glibc serves blocks above 32 MiB with fresh `mmap`s, so every large activation would otherwise
/// be page-faulted and zeroed by the kernel on first touch (several percent of a U-Net pass).
/// Freed large buffers are kept here, keyed by size, up to `capacityBytes`, and handed out again.
final class BufferPool: Sendable {
    static let shared = BufferPool()
    /// Buffers at least this large are pooled (smaller ones stay on malloc's heap anyway).
    static let minimumBytes = 16 << 20
    /// At most this much idle memory is kept.
    static let capacityBytes = 128 << 20

    /// Addresses are kept as integers so the state is Sendable.
    private struct State {
        var free: [Int: [UInt]] = [:]
        var idleBytes = 0
        var order: [(Int, UInt)] = []  // oldest first, for eviction
    }
    private let state = Mutex(State())

    /// Rounds a byte count to the pool's size classes (1 MiB granularity).
    static func sizeClass(_ bytes: Int) -> Int { (bytes + (1 << 20) - 1) & ~((1 << 20) - 1) }

    func take(_ bytes: Int) -> UnsafeMutableRawPointer {
        let cls = Self.sizeClass(bytes)
        let reused: UInt? = state.withLock { s in
            guard var list = s.free[cls], let p = list.popLast() else { return nil }
            s.free[cls] = list
            s.idleBytes -= cls
            if let i = s.order.firstIndex(where: { $0.1 == p }) { s.order.remove(at: i) }
            return p
        }
        if let reused, let p = UnsafeMutableRawPointer(bitPattern: reused) { return p }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, cls) == 0, let raw else { fatalError("out of memory allocating \(cls) bytes") }
        return raw
    }

    func give(_ pointer: UnsafeMutableRawPointer, _ bytes: Int) {
        let cls = Self.sizeClass(bytes)
        let p = UInt(bitPattern: pointer)
        let evicted: [UInt] = state.withLock { s in
            s.free[cls, default: []].append(p)
            s.order.append((cls, p))
            s.idleBytes += cls
            var out: [UInt] = []
            while s.idleBytes > Self.capacityBytes, !s.order.isEmpty {
                let (c, q) = s.order.removeFirst()
                if var list = s.free[c], let i = list.firstIndex(of: q) {
                    list.remove(at: i)
                    s.free[c] = list
                }
                s.idleBytes -= c
                out.append(q)
            }
            return out
        }
        evicted.forEach { free(UnsafeMutableRawPointer(bitPattern: $0)) }
    }
}

/// Owner of a pooled buffer: returns it to the pool when the last tensor using it goes away.
final class PooledBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let bytes: Int
    init(bytes: Int) {
        self.bytes = bytes
        pointer = BufferPool.shared.take(bytes)
    }
    deinit { BufferPool.shared.give(pointer, bytes) }
}

extension Tensor {
    /// An uninitialised tensor for a kernel's output; large ones come from the `BufferPool`.
    static func pooled(_ shape: [Int]) -> Tensor {
        let count = Tensor.elementCount(shape)
        let bytes = count * MemoryLayout<Float>.stride
        guard bytes >= BufferPool.minimumBytes else { return Tensor(uninitializedShape: shape) }
        let buffer = PooledBuffer(bytes: bytes)
        let p = buffer.pointer.bindMemory(to: Float.self, capacity: count)
        return Tensor(shape: shape, storage: TensorStorage(borrowing: p, count: count, owner: buffer))
    }
}
