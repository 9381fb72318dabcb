import COpenBLAS
import Dispatch
import Synchronization

/// The engine's thread budget: one knob for the engine's thread pool, which also runs the GEMMs.
///
/// OpenBLAS itself is kept single-threaded: its pthread workers spin (`sched_yield`) for a long
/// time after each call and would compete with the element-wise loops between GEMMs. Instead,
/// large GEMMs are split across the engine's own threads, each calling single-threaded OpenBLAS,
/// so exactly one set of threads ever runs.
public enum EngineThreads {
    private static let state: Mutex<Int> = {
        // OpenBLAS starts with one thread per core (or OPENBLAS_NUM_THREADS): take that as the default.
        let initial = max(1, Int(openblas_get_num_threads()))
        openblas_set_num_threads(1)
        return Mutex(initial)
    }()

    /// Sets how many threads the engine (its loops and its GEMMs) may use.
    public static func set(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1")
        state.withLock { $0 = count }
    }

    /// Threads the engine uses.
    public static var current: Int {
        // `state` first even under a scoped count: its initialiser makes OpenBLAS single-threaded, which must
        // come before the first GEMM. OpenBLAS's own threads sum a product in another order (a DINO's keys
        // came out with other bits), and they would run beside the engine's.
        let processWide = state.withLock { $0 }
        return scoped ?? processWide
    }

    /// A count for one task's engine work, over the process-wide one (``Parallel`` hands it to its workers).
    @TaskLocal static var scoped: Int?

    /// Runs `body` with the engine cut for `count` threads in this task only: two computations side by side
    /// (tests comparing thread counts) each keep their own.
    static func with<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        precondition(count >= 1, "thread count must be at least 1")
        return try $scoped.withValue(count, operation: body)
    }
}

/// Parallel loops for the engine's own (non-BLAS) kernels.
///
/// Work is split into at most `EngineThreads.current` chunks.
enum Parallel {
    /// Calls `body` on disjoint sub-ranges covering `0..<count`, concurrently when the work is
    /// large enough. `grain` is the smallest range worth a thread (in iterations).
    static func forRanges(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let threads = min(EngineThreads.current, max(1, count / max(grain, 1)))
        if threads <= 1 {
            body(0..<count)
            return
        }
        // Dispatch's workers are not in the caller's task: hand them its matmul precision and thread count.
        let precision = MatmulPrecision.current, scopedThreads = EngineThreads.scoped
        let profiling = EngineProfile.isOn, start = profiling ? DispatchTime.now().uptimeNanoseconds : 0
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedSendable(escaping)
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                let lo = count * part / threads
                let hi = count * (part + 1) / threads
                guard lo < hi else { return }
                let partStart = profiling ? DispatchTime.now().uptimeNanoseconds : 0
                EngineThreads.$scoped.withValue(scopedThreads) { MatmulPrecision.$scoped.withValue(precision) { box.value(lo..<hi) } }
                if profiling { EngineProfile.add(.parallelBusy, since: partStart) }
            }
        }
        if profiling { EngineProfile.add(.parallelWall, since: start) }
    }

    /// Copies `count` floats, large copies split over the threads: on many cores one thread's memcpy of
    /// a U-Net skip connection (tens of MB) is a serial stretch the others wait through.
    static func copy(_ destination: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, count: Int) {
        let d = UncheckedSendable(destination), s = UncheckedSendable(source)
        forRanges(count, grain: 1 << 18) { range in
            (d.value + range.lowerBound).update(from: s.value + range.lowerBound, count: range.count)
        }
    }

    /// Sets `count` floats to zero, large spans split over the threads (see ``copy(_:from:count:)``).
    static func zero(_ destination: UnsafeMutablePointer<Float>, count: Int) {
        let d = UncheckedSendable(destination)
        forRanges(count, grain: 1 << 18) { range in (d.value + range.lowerBound).update(repeating: 0, count: range.count) }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, spreading iterations over the threads.
    static func forEach(_ count: Int, grain: Int = 1, _ body: (Int) -> Void) {
        forRanges(count, grain: grain) { range in
            for i in range { body(i) }
        }
    }
}

/// Carries a non-Sendable value (raw pointers, a non-escaping closure) into a parallel loop whose
/// iterations touch disjoint memory.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// For benchmarks that measure what handing work to the threads costs.
@_spi(Benchmarks) public enum ParallelBenchmark {
    /// Median seconds of one multi-threaded loop whose parts do almost nothing (each adds to its own cache
    /// line), the loops `idleMicroseconds` apart (the caller spins meanwhile, as it would run a serial
    /// stretch or another loop's tail): the hand-off every parallel loop pays, waking the workers and waiting
    /// for the last of them. Workers that have gone to sleep between loops cost more to wake.
    /// `threads: 1` gives the same work run serially.
    public static func secondsPerLoop(loops: Int, idleMicroseconds: Int, threads: Int = EngineThreads.current, rounds: Int = 5) -> Double {
        let slots = UnsafeMutablePointer<Float>.allocate(capacity: threads * 16)
        slots.initialize(repeating: 0, count: threads * 16)
        defer { slots.deallocate() }
        let p = UncheckedSendable(slots)
        let saved = EngineThreads.current
        EngineThreads.set(threads)
        defer { EngineThreads.set(saved) }
        var times: [Double] = []
        for _ in 0..<rounds {
            var inLoops: UInt64 = 0
            for _ in 0..<loops {
                let idleUntil = DispatchTime.now().uptimeNanoseconds + UInt64(idleMicroseconds) * 1000
                while DispatchTime.now().uptimeNanoseconds < idleUntil {}
                let start = DispatchTime.now().uptimeNanoseconds
                Parallel.forEach(threads) { part in p.value[part * 16] += 1 }
                inLoops += DispatchTime.now().uptimeNanoseconds - start
            }
            times.append(Double(inLoops) / 1e9 / Double(loops))
        }
        return times.sorted()[rounds / 2]
    }
}
