#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Reuses the memory of large tensors.
///
/// A fresh allocation is page-faulted and zeroed by the kernel on first touch, one 4 KiB page at a
/// time: 1.5 million faults (6 GB zeroed) in every guided step, 5% of its thread time, while each step
/// allocated its activations anew (glibc maps large blocks fresh and unmaps them on free; unmapping
/// also interrupts every core running the process). So freed tensors of at least ``minimumBytes`` stay
/// here by size class, and the next tensor of that class, or of a size up to a quarter smaller, takes
/// one: from the second pass on, a network reuses the first pass's memory and faults almost never.
///
/// Idle memory is kept up to the most the tensors ever needed at once (the high-water mark of live
/// bytes, at least `floorBytes`); above that, a miss frees idle buffers first. A run's resident memory
/// therefore stays within its peak plus the idle buffers whose sizes did not come back (measured: +8%
/// on a guided step, BENCHMARKS.md); ``releaseIdle()`` gives the idle part back.
final class BufferPool: Sendable {
    static let shared = BufferPool()
    /// Buffers at least this large are pooled (smaller ones are cheap to get from malloc's heap).
    static let minimumBytes = 1 << 20
    /// The pool may always keep this much idle, whatever the high-water mark.
    let floorBytes: Int

    init(floorBytes: Int = 128 << 20) {
        self.floorBytes = floorBytes
    }

    /// Addresses are kept as integers so the state is Sendable.
    private struct State {
        var free: [Int: [UInt]] = [:]
        var idleBytes = 0
        var liveBytes = 0
        var highWater = 0
    }
    private let state = Mutex(State())

    /// Rounds a byte count up to its size class: 16 classes per power of two (at most 1/16 wasted),
    /// in whole 64 KiB units. A repeated network pass asks for the same sizes, so classes match exactly.
    static func sizeClass(_ bytes: Int) -> Int {
        let unit = max(1 << 16, (1 << (Int.bitWidth - 1 - max(bytes, 1).leadingZeroBitCount)) >> 4)
        return (bytes + unit - 1) / unit * unit
    }

    /// A buffer of at least `bytes`, and the size class it has (to give back with it).
    func take(_ bytes: Int) -> (pointer: UnsafeMutableRawPointer, size: Int) {
        let wanted = Self.sizeClass(bytes)
        let (reused, size, evicted): (UInt?, Int, [UInt]) = state.withLock { s in
            // The exact class, else the smallest idle one up to a quarter larger: a run's first pass
            // frees and asks for many nearby sizes, and taking a near one saves holding both.
            let cls = s.free[wanted] != nil ? wanted
                : s.free.keys.filter { $0 > wanted && $0 <= wanted + wanted / 4 }.min() ?? wanted
            s.liveBytes += cls
            s.highWater = max(s.highWater, s.liveBytes)
            if var list = s.free[cls], let p = list.popLast() {
                s.free[cls] = list.isEmpty ? nil : list
                s.idleBytes -= cls
                return (p, cls, [])
            }
            // None idle: keep the idle memory under the mark by freeing some of other classes.
            let limit = max(s.highWater, floorBytes)
            var out: [UInt] = []
            while s.idleBytes > limit, let (c, list) = s.free.first {
                var rest = list
                out.append(rest.removeLast())
                s.free[c] = rest.isEmpty ? nil : rest
                s.idleBytes -= c
            }
            return (nil, cls, out)
        }
        evicted.forEach { free(UnsafeMutableRawPointer(bitPattern: $0)) }
        if let reused, let p = UnsafeMutableRawPointer(bitPattern: reused) { return (p, size) }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let raw else { fatalError("out of memory allocating \(size) bytes") }
        return (raw, size)
    }

    /// Returns a buffer `take` gave with `size`.
    func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        state.withLock { s in
            s.free[size, default: []].append(UInt(bitPattern: pointer))
            s.idleBytes += size
            s.liveBytes -= size
        }
    }

    /// Frees every idle buffer and forgets the high-water mark (tensors still alive keep theirs).
    func releaseIdle() {
        let all: [UInt] = state.withLock { s in
            let out = s.free.values.flatMap { $0 }
            s.free = [:]
            s.idleBytes = 0
            s.highWater = s.liveBytes
            return out
        }
        all.forEach { free(UnsafeMutableRawPointer(bitPattern: $0)) }
    }

    /// Bytes in tensors alive now, idle in the pool, and the most ever alive at once (for tests and benchmarks).
    var usage: (live: Int, idle: Int, highWater: Int) {
        state.withLock { ($0.liveBytes, $0.idleBytes, $0.highWater) }
    }
}

/// Owner of a pooled buffer: returns it to the pool when the last tensor using it goes away.
final class PooledBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let size: Int
    init(bytes: Int) {
        (pointer, size) = BufferPool.shared.take(bytes)
    }
    deinit { BufferPool.shared.give(pointer, size: size) }
}

extension TensorStorage {
    /// Runs `body` with `count` uninitialised floats of kernel scratch memory (from the pool when large,
    /// like any tensor's: a fresh block per call would be page-faulted anew every time).
    static func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let storage = TensorStorage(uninitializedCount: count)
        return try withExtendedLifetime(storage) { try body(storage.pointer) }
    }
}

/// The engine's memory that outlives a computation.
public enum EngineMemory {
    /// Gives the tensor memory kept for reuse back to the system. The engine keeps freed activations
    /// to reuse in the next pass (up to the most it ever needed at once); call this when a long
    /// computation is over and the process goes on with other work.
    public static func releaseCachedBuffers() {
        BufferPool.shared.releaseIdle()
    }
}
