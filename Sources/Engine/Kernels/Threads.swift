import COpenBLAS
import Dispatch

/// The engine's thread budget: one knob for OpenBLAS and the engine's own parallel loops.
public enum EngineThreads {
    /// Sets how many threads OpenBLAS (and the engine's element-wise kernels) may use.
    public static func set(_ count: Int) {
        precondition(count >= 1, "thread count must be at least 1")
        openblas_set_num_threads(Int32(count))
    }

    /// Threads OpenBLAS will use.
    public static var current: Int { Int(openblas_get_num_threads()) }
}

/// Parallel loops for the engine's own (non-BLAS) kernels.
///
/// Work is split into at most `EngineThreads.current` chunks, so the engine never runs more
/// threads than OpenBLAS is allowed to; BLAS is only ever called outside these loops (from the
/// calling thread), so the two pools never run at the same time.
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
        withoutActuallyEscaping(body) { escaping in
            let box = UncheckedSendable(escaping)
            DispatchQueue.concurrentPerform(iterations: threads) { part in
                let lo = count * part / threads
                let hi = count * (part + 1) / threads
                if lo < hi { box.value(lo..<hi) }
            }
        }
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
