import Testing
@testable import Engine

/// The pool that lets the next pass reuse the previous pass's tensor memory (BENCHMARKS.md, "Page faults").
/// Each test has a pool of its own (the shared one serves every suite running at the same time); the
/// buffers are never touched, so the sizes cost address space only.
struct BufferPoolTests {
    static let mib = 1 << 20

    @Test func sizeClassesCoverTheRequestAndWasteAtMostASixteenth() {
        for bytes in [1, 4095, 1 << 20, (1 << 20) + 1, 3_000_000, 9_646_080, 67_108_864, 100_000_001] {
            let cls = BufferPool.sizeClass(bytes)
            #expect(cls >= bytes && cls % (1 << 16) == 0, "\(bytes) -> \(cls)")
            if bytes >= 1 << 20 { #expect(Double(cls - bytes) <= Double(bytes) / 16, "\(bytes) -> \(cls)") }
        }
        // Sizes a repeated pass asks for again map to the same class.
        #expect(BufferPool.sizeClass(9_646_080) == BufferPool.sizeClass(9_646_080 - 4))
    }

    @Test func aFreedBufferIsHandedOutAgainForTheSameOrASlightlySmallerSize() {
        let pool = BufferPool()
        let first = pool.take(8 * Self.mib)
        pool.give(first.pointer, size: first.size)
        let same = pool.take(8 * Self.mib)
        #expect(same.pointer == first.pointer)
        pool.give(same.pointer, size: same.size)
        let smaller = pool.take(7 * Self.mib)  // within a quarter: takes the 8 MiB block
        #expect(smaller.pointer == first.pointer && smaller.size == first.size)
        let other = pool.take(7 * Self.mib)  // none idle now: a new block
        #expect(other.pointer != first.pointer)
        pool.give(smaller.pointer, size: smaller.size)
        let half = pool.take(4 * Self.mib)  // more than a quarter smaller: not the 8 MiB block
        #expect(half.pointer != first.pointer)
        #expect(pool.usage.live == other.size + half.size && pool.usage.idle == first.size)
        pool.give(other.pointer, size: other.size)
        pool.give(half.pointer, size: half.size)
        pool.releaseIdle()
    }

    @Test func idleMemoryStaysWithinTheHighWaterMark() {
        let pool = BufferPool(floorBytes: 0)
        // Peak of 100 MiB live at once.
        let a = pool.take(60 * Self.mib), b = pool.take(40 * Self.mib)
        pool.give(a.pointer, size: a.size)
        pool.give(b.pointer, size: b.size)
        #expect(pool.usage.highWater == a.size + b.size && pool.usage.idle == a.size + b.size)
        // Sizes that never come back: each miss first frees idle buffers down to the mark.
        var held: [(pointer: UnsafeMutableRawPointer, size: Int)] = []
        for size in [10, 20, 30] {
            held.append(pool.take(size * Self.mib))
            #expect(pool.usage.idle <= pool.usage.highWater, "\(pool.usage)")
        }
        for h in held { pool.give(h.pointer, size: h.size) }
        let c = pool.take(90 * Self.mib)
        #expect(pool.usage.idle <= pool.usage.highWater, "\(pool.usage)")
        pool.give(c.pointer, size: c.size)
        pool.releaseIdle()
        #expect(pool.usage.idle == 0 && pool.usage.live == 0 && pool.usage.highWater == 0)
    }

    @Test func largeTensorsComeFromThePoolAndKeepTheirValues() {
        let count = 2 * Self.mib / 4 + 5  // over the pooling threshold
        let a = Tensor(shape: [count], scalars: (0..<count).map { Float($0 % 1000) })
        #expect(!a.storage.isBorrowed)
        var b = a
        b.withUnsafeMutableBufferPointer { $0[0] = -1 }  // copy on write into a second pooled block
        #expect(a.scalars[0] == 0 && b.scalars[0] == -1 && a.scalars[count - 1] == b.scalars[count - 1])
    }
}
