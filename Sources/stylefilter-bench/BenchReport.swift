@_spi(Benchmarks) import Engine
import Foundation

/// A bench case's bad option.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Timing and memory helpers shared by every benchmark case.
enum Bench {
    /// Runs `body` `runs` times (after `warmup` untimed runs) and returns the median seconds.
    static func medianSeconds(runs: Int = 3, warmup: Int = 0, _ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<warmup { try body() }
        let times = try (0..<runs).map { _ in try seconds(of: body) }.sorted()
        return times[times.count / 2]
    }

    /// `precision=fp32|bf16` among a case's options (default fp32); bf16 only where the CPU runs it.
    static func precision(_ args: ArraySlice<String>) throws -> MatmulPrecision {
        guard let name = args.last(where: { $0.hasPrefix("precision=") })?.dropFirst(10) else { return .fp32 }
        guard let precision = MatmulPrecision(rawValue: String(name)) else { throw BenchError("unknown precision '\(name)' (fp32, bf16)") }
        guard precision.isSupported else { throw MatmulPrecisionError.unsupported(precision) }
        return precision
    }

    /// Median seconds of `body` in `precision` and in fp32, the reference of the same run: each timed
    /// round runs fp32 then `precision`, so both see the same load (fp32 only, once, when that is `precision`).
    static func medianSeconds(_ precision: MatmulPrecision, runs: Int, warmup: Int, _ body: () throws -> Void) throws -> (seconds: Double, fp32: Double) {
        guard precision != .fp32 else {
            let seconds = try medianSeconds(runs: runs, warmup: warmup, body)
            return (seconds, seconds)
        }
        for _ in 0..<warmup {
            try body()
            try precision.withEngine(body)
        }
        var fp32: [Double] = [], reduced: [Double] = []
        for _ in 0..<runs {
            fp32.append(try seconds(of: body))
            reduced.append(try precision.withEngine { try seconds(of: body) })
            log(String(format: "  fp32 %.3f s, %@ %.3f s", fp32.last!, precision.rawValue, reduced.last!))
        }
        return (reduced.sorted()[runs / 2], fp32.sorted()[runs / 2])
    }

    /// An earlier algorithm of the engine: `run` runs its body with it in place of today's.
    typealias Reference = (name: String, run: (() throws -> Void) throws -> Void)

    /// The engine's earlier algorithm that `reference=NAME` times in the same run (nil without the option):
    /// `direct` (3x3 convolutions without Winograd), `unfolded` (im2col only), `f2x2` (F(2x2, 3x3) where F(4x4, 3x3)
    /// runs), `blas-clears-c` (OpenBLAS clears C for beta-0 products).
    static func reference(_ args: ArraySlice<String>) throws -> Reference? {
        guard let option = args.last(where: { $0.hasPrefix("reference=") }) else { return nil }
        switch option.dropFirst("reference=".count) {
        case "direct": return ("direct", { try ConvolutionBenchmark.withoutWinograd($0) })
        case "unfolded": return ("unfolded", { try ConvolutionBenchmark.withUnfoldedConvolutions($0) })
        case "f2x2": return ("f2x2", { try ConvolutionBenchmark.withWinogradTile2x2($0) })
        case "blas-clears-c": return ("blas_clears_c", { try GEMMBenchmark.withOpenBLASClearingC($0) })
        default: throw BenchError("\(option): the references are direct, unfolded, f2x2 and blas-clears-c")
        }
    }

    static func seconds(of body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// The report fields of a reduced-precision case: its precision, the fp32 time of the same run and the speed-up.
    static func precisionFields(_ precision: MatmulPrecision, seconds: Double, fp32: Double) -> [(String, String)] {
        precision == .fp32 ? [] : [
            ("precision", precision.rawValue), ("fp32_seconds", String(format: "%.3f", fp32)),
            ("speedup_vs_fp32", String(format: "%.2f", fp32 / seconds)),
        ]
    }

    /// With `profile` among the options: one more pass of `body` (in `precision`) with ``EngineProfile`` on,
    /// logged, and its figures as report fields (where the time goes: serial work, waiting in loops, GEMM).
    /// `sgemm` (GFLOP/s of OpenBLAS sgemm in the same run) adds `profile_ratio_to_sgemm`: the GEMM work of the
    /// profiled pass over its wall time, against sgemm's rate; for cases whose work has no formula (a guided step).
    static func profile(_ args: ArraySlice<String>, _ precision: MatmulPrecision, sgemm: Double? = nil, _ body: () throws -> Void) throws -> [(String, String)] {
        guard args.contains("profile") else { return [] }
        let report = try precision.withEngine { try EngineProfile.measure(body) }
        log("profile: \(report)")
        let threadSeconds = report.wall * Double(report.threads)
        var fields = [
            ("profile_wall", String(format: "%.3f", report.wall)), ("serial_share", String(format: "%.3f", report.serialWall / report.wall)),
            ("parallel_busy", String(format: "%.3f", report.parallelEfficiency)), ("parallel_loops", "\(report.parallelLoops)"),
            ("gemm_share", String(format: "%.3f", report.gemm / threadSeconds)), ("im2col_share", String(format: "%.3f", report.im2col / threadSeconds)),
            ("gemm_gflop", String(format: "%.1f", report.gemmFLOP / 1e9)), ("page_faults", "\(report.pageFaults)"),
        ]
        if let sgemm { fields.append(("profile_ratio_to_sgemm", String(format: "%.3f", report.effectiveGFLOPS / sgemm))) }
        return fields
    }

    /// Peak resident set size of this process in MiB (VmHWM from /proc/self/status).
    static func peakRSSMiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? -1
            return kb / 1024
        }
        return -1
    }

    /// Prints a benchmark's final line: `CASE key=value ...`.
    static func report(_ name: String, _ fields: KeyValuePairs<String, String>, _ more: [(String, String)] = []) {
        let body = (fields.map { ($0.key, $0.value) } + more).map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        print("\(name) \(body)")
    }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
