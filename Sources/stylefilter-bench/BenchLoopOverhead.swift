@_spi(Benchmarks) import Engine

/// `loop-overhead [loops=N]`: what one multi-threaded loop of the engine costs beyond its work (waking the
/// threads, waiting for the last), back to back and after the caller ran alone for 100 µs and 1 ms (the
/// workers may have gone to sleep), against the same near-empty work run serially in this run. Times a
/// case profile's `parallel_loops`, it bounds the hand-offs' share of a pass.
enum BenchLoopOverhead {
    static func run(_ args: ArraySlice<String>) throws {
        let loops = args.compactMap { $0.hasPrefix("loops=") ? Int($0.dropFirst(6)) : nil }.last ?? 2000
        _ = ParallelBenchmark.secondsPerLoop(loops: loops, idleMicroseconds: 0)  // warm-up: the workers exist
        let perLoop = [0, 100, 1000].map { idle in
            let seconds = ParallelBenchmark.secondsPerLoop(loops: idle >= 1000 ? loops / 4 : loops, idleMicroseconds: idle)
            return ("microseconds_per_loop_after_\(idle)us", String(format: "%.2f", seconds * 1e6))
        }
        let serial = ParallelBenchmark.secondsPerLoop(loops: loops, idleMicroseconds: 100, threads: 1)
        Bench.report("loop-overhead", ["threads": "\(EngineThreads.current)", "loops": "\(loops)"], perLoop + [
            ("serial_microseconds_per_loop", String(format: "%.3f", serial * 1e6)), ("peak_rss_mb", "\(Bench.peakRSSMiB())"),
        ])
    }
}
