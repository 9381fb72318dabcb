#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Synchronization

/// Where the engine's time goes, for finding what keeps many cores from sgemm's rate: off unless a
/// benchmark turns it on; then every GEMM, im2col/col2im pass and multi-threaded loop adds its duration
/// to a counter (thread-seconds; a clock read per call, nothing when off).
public enum EngineProfile {
    /// What one profiled stretch of work spent.
    public struct Report: Sendable, CustomStringConvertible {
        /// Wall-clock seconds of the whole stretch.
        public var wall: Double
        /// Thread-seconds inside GEMMs (OpenBLAS or the bf16 kernel), on any thread.
        public var gemm: Double
        /// Floating-point operations the GEMMs did (2·m·n·k each): the work more cores should speed up.
        public var gemmFLOP: Double
        /// Thread-seconds unfolding (im2col) and folding (col2im) convolution patches.
        public var im2col: Double
        /// Loops that ran on more than one thread (each pays a hand-off to the threads and a join).
        public var parallelLoops: Int
        /// Wall seconds inside loops that ran on more than one thread.
        public var parallelWall: Double
        /// Thread-seconds the threads of those loops spent working (the rest of threads x wall is waiting
        /// for the slowest part, or starting).
        public var parallelBusy: Double
        /// Threads the engine had.
        public var threads: Int
        /// Page faults the process took (first touches of fresh memory, zeroed by the kernel page by page).
        public var pageFaults: Int

        /// Wall seconds outside multi-threaded loops: work on the calling thread alone.
        public var serialWall: Double { max(0, wall - parallelWall) }
        /// How much of the multi-threaded loops' thread time was work.
        public var parallelEfficiency: Double { parallelWall > 0 ? parallelBusy / (parallelWall * Double(threads)) : 0 }

        /// The GEMMs' work over the whole stretch's wall time, in GFLOP/s: divided by sgemm's rate on the same
        /// threads, how close the stretch comes to doing nothing but sgemm.
        public var effectiveGFLOPS: Double { wall > 0 ? gemmFLOP / wall / 1e9 : 0 }

        public var description: String {
            String(format: "wall %.3f s: serial %.3f s (%.0f%%), multi-threaded %.3f s in %d loops at %.0f%% busy on %d threads; thread-seconds in GEMM %.3f (%.1f GFLOP, %.1f GFLOP/s over the wall), im2col %.3f; %d page faults",
                wall, serialWall, 100 * serialWall / max(wall, 1e-9), parallelWall, parallelLoops, 100 * parallelEfficiency, threads, gemm,
                gemmFLOP / 1e9, effectiveGFLOPS, im2col, pageFaults)
        }
    }

    enum Counter { case gemm, im2col, parallelWall, parallelBusy }

    private static let on = Atomic<Bool>(false)
    private static let gemmFLOP = Atomic<Int>(0), parallelLoops = Atomic<Int>(0)
    // Nanoseconds per counter (Atomic cannot live in an array).
    private static let gemmNS = Atomic<Int>(0), im2colNS = Atomic<Int>(0), parallelWallNS = Atomic<Int>(0), parallelBusyNS = Atomic<Int>(0)

    private static func nanoseconds(_ counter: Counter) -> Int {
        switch counter {
        case .gemm: gemmNS.load(ordering: .relaxed)
        case .im2col: im2colNS.load(ordering: .relaxed)
        case .parallelWall: parallelWallNS.load(ordering: .relaxed)
        case .parallelBusy: parallelBusyNS.load(ordering: .relaxed)
        }
    }
    // The counters are shared; two profiled stretches at once would mix.
    private static let running = Mutex(false)

    /// Runs `body` with the counters on and returns what it spent.
    public static func measure(_ body: () throws -> Void) rethrows -> Report {
        running.withLock { precondition(!$0, "EngineProfile.measure does not nest"); $0 = true }
        defer { running.withLock { $0 = false } }
        gemmNS.store(0, ordering: .relaxed)
        gemmFLOP.store(0, ordering: .relaxed)
        parallelLoops.store(0, ordering: .relaxed)
        im2colNS.store(0, ordering: .relaxed)
        parallelWallNS.store(0, ordering: .relaxed)
        parallelBusyNS.store(0, ordering: .relaxed)
        on.store(true, ordering: .releasing)
        let faults = pageFaultCount()
        let start = DispatchTime.now().uptimeNanoseconds
        defer { on.store(false, ordering: .releasing) }
        try body()
        let wall = DispatchTime.now().uptimeNanoseconds - start
        func seconds(_ c: Counter) -> Double { Double(nanoseconds(c)) / 1e9 }
        return Report(wall: Double(wall) / 1e9, gemm: seconds(.gemm), gemmFLOP: Double(gemmFLOP.load(ordering: .relaxed)), im2col: seconds(.im2col), parallelLoops: parallelLoops.load(ordering: .relaxed), parallelWall: seconds(.parallelWall),
            parallelBusy: seconds(.parallelBusy), threads: EngineThreads.current, pageFaults: pageFaultCount() - faults)
    }

    private static func pageFaultCount() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_minflt + usage.ru_majflt
    }

    /// Runs `body`, adding its duration to `counter` while profiling.
    @inline(__always)
    static func timed<R>(_ counter: Counter, _ body: () throws -> R) rethrows -> R {
        guard on.load(ordering: .relaxed) else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { add(counter, since: start) }
        return try body()
    }

    @inline(__always)
    static func add(_ counter: Counter, since start: UInt64) {
        let elapsed = Int(DispatchTime.now().uptimeNanoseconds &- start)
        switch counter {
        case .gemm: gemmNS.add(elapsed, ordering: .relaxed)
        case .im2col: im2colNS.add(elapsed, ordering: .relaxed)
        case .parallelWall:
            parallelWallNS.add(elapsed, ordering: .relaxed)
            parallelLoops.add(1, ordering: .relaxed)
        case .parallelBusy: parallelBusyNS.add(elapsed, ordering: .relaxed)
        }
    }

    /// Runs one GEMM of `m x n x k`, counting its time and work while profiling.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, _ body: () -> Void) {
        guard on.load(ordering: .relaxed) else { return body() }
        gemmFLOP.add(2 * m * n * k, ordering: .relaxed)
        timed(.gemm, body)
    }

    static var isOn: Bool { on.load(ordering: .relaxed) }
}
