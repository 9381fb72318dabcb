import COpenBLAS
@_spi(Benchmarks) import Engine
import FixtureSupport
import Foundation

/// `sgemm`, `unet256-fwd`, `unet256-grad`: OpenBLAS peak and the ADM U-Net (256x256 uncond config,
/// random weights, batch 1) forward and forward + input gradient, on all cores.
enum BenchUNet {
    /// Forward FLOPs of the 256x256 uncond U-Net (spec A.9: 1.120 T MACs).
    static let forwardFLOP = 2.24e12

    /// CPU seconds (user + system) this process has used so far, all threads.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Medians of wall-clock and CPU seconds over `runs` runs after `warmup` untimed runs. CPU time
    /// is reported too because the benchmark machine is shared: under load the wall clock of both
    /// the U-Net and sgemm stretches with whatever else runs, their CPU time much less.
    static func timed(runs: Int, warmup: Int, _ body: () throws -> Void) rethrows -> (wall: Double, cpu: Double) {
        for _ in 0..<warmup { try body() }
        var walls: [Double] = [], cpus: [Double] = []
        for _ in 0..<runs {
            let (w0, c0) = (DispatchTime.now().uptimeNanoseconds, cpuSeconds())
            try body()
            walls.append(Double(DispatchTime.now().uptimeNanoseconds - w0) / 1e9)
            cpus.append(cpuSeconds() - c0)
            Bench.log(String(format: "  run %.3f s wall, %.3f s cpu", walls.last!, cpus.last!))
        }
        return (walls.sorted()[walls.count / 2], cpus.sorted()[cpus.count / 2])
    }

    /// OpenBLAS's own multithreaded sgemm (n x n x n) on all the engine's threads: the peak the
    /// U-Net is compared with. Also returns single-threaded sgemm GFLOP per CPU second, the
    /// per-core peak for CPU-time comparisons (a multithreaded OpenBLAS spins while a descheduled
    /// partner thread catches up, so its CPU time is inflated on a loaded machine).
    static func sgemmGFLOPS(size n: Int = 2048, runs: Int = 3) -> (seconds: Double, gflops: Double, cpuGflops: Double) {
        let threads = EngineThreads.current  // also puts the engine's OpenBLAS setting in place
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let flop = 2 * Double(n * n * n)
        let (_, cpu) = timed(runs: runs, warmup: 1) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        }
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(1) }
        let (wall, _) = timed(runs: runs, warmup: 1) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        }
        return (wall, flop / wall / 1e9, flop / cpu / 1e9)
    }

    static func sgemm(_ args: ArraySlice<String>) throws {
        Bench.log("sgemm 2048^3 on \(EngineThreads.current) OpenBLAS threads")
        let (seconds, gflops, cpuGflops) = sgemmGFLOPS()
        Bench.report("sgemm", [
            "seconds": String(format: "%.4f", seconds), "gflops": String(format: "%.1f", gflops),
            "peak_rss_mb": "\(Bench.peakRSSMiB())", "gflops_per_cpu_s": String(format: "%.1f", cpuGflops),
        ])
    }

    /// `matmul [size=N] [precision=bf16]`: the engine's own product (`Ops.matmul`, n x n x n on its threads) in
    /// fp32 and in `precision`, against OpenBLAS sgemm on the same threads, all in this run.
    static func matmul(_ args: ArraySlice<String>) throws {
        let n = args.compactMap { $0.hasPrefix("size=") ? Int($0.dropFirst(5)) : nil }.last ?? 2048
        let precision = try Bench.precision(args)
        let sgemm = sgemmGFLOPS(size: n).gflops
        var rng = RandomWeightArchive.Generator(seed: 3)
        let a = Variable(Tensor(shape: [n, n], scalars: (0..<(n * n)).map { _ in rng.uniform(scale: 1) }))
        let b = Variable(Tensor(shape: [n, n], scalars: (0..<(n * n)).map { _ in rng.uniform(scale: 1) }))
        let (seconds, fp32) = try Bench.medianSeconds(precision, runs: 5, warmup: 1) { _ = Ops.matmul(a, b) }
        let flop = 2 * Double(n * n * n)
        Bench.report("matmul", [
            "size": "\(n)", "seconds": String(format: "%.4f", seconds), "gflops": String(format: "%.1f", flop / seconds / 1e9),
            "sgemm_gflops": String(format: "%.1f", sgemm), "ratio_to_sgemm": String(format: "%.3f", flop / seconds / 1e9 / sgemm),
            "peak_rss_mb": "\(Bench.peakRSSMiB())",
        ], Bench.precisionFields(precision, seconds: seconds, fp32: fp32))
    }

    /// `profile` adds one profiled pass (``EngineProfile``: serial share, busy share of the threads in
    /// multi-threaded loops, GEMM and im2col shares of all thread time).
    /// `precision=bf16` runs the model in bf16 and times the fp32 pass before each run as its reference
    /// (`fp32_seconds`, `speedup_vs_fp32`; `ratio_to_sgemm` is then bf16's effective rate against fp32 sgemm).
    /// `runs=N` (default 3, after one warm-up run) sets how many timed runs the median takes;
    /// `reference=NAME` (``Bench/reference(_:)``: `unfolded`, `direct`, `f2x2`, `blas-clears-c`) also times, before
    /// each run, the pass with the engine's earlier algorithm and reports `NAME_seconds` and `speedup_vs_NAME`, and
    /// the relative L2 distance of the output and gradient from the reference's.
    /// `recompute=full|all` recomputes full-resolution (or all) blocks in the backward pass instead
    /// of keeping their activations.
    ///
    /// The machine is shared, so sgemm is measured again right before every timed run and
    /// `ratio_to_sgemm` is the median of the per-run ratios (each against the sgemm of its moment).
    static func unet(_ name: String, gradient: Bool, _ args: ArraySlice<String>) throws {
        let runs = args.compactMap { $0.hasPrefix("runs=") ? Int($0.dropFirst(5)) : nil }.last ?? 3
        let precision = try Bench.precision(args)
        let config = UNetConfig.imageNet256Unconditional
        let recompute: UNetModel.Recompute = args.contains("recompute=all") ? .all : args.contains("recompute=full") ? .fullResolution : .none
        Bench.log("\(name): \(EngineThreads.current) threads, recompute \(recompute); building random-weight model")
        let model = try UNetModel(config: config, weights: WeightStore(RandomWeightArchive(config.parameterShapes())), recompute: recompute)
        var rng = RandomWeightArchive.Generator(seed: 42)
        let x = Tensor(shape: [1, 3, 256, 256], scalars: (0..<(3 * 256 * 256)).map { _ in rng.uniform(scale: 1.7) })
        let t = Tensor(shape: [1], scalars: [500])
        let cotangent = Tensor(shape: [1, config.outChannels, 256, 256], scalars: (0..<(config.outChannels * 65536)).map { _ in rng.uniform(scale: 1.7) })
        let flop = gradient ? 2 * forwardFLOP : forwardFLOP
        var checksum: Float = 0
        var outputs: [Tensor] = []
        func pass() {
            if gradient {
                let (out, grad) = model.inputGradient(x, timesteps: t, cotangent: cotangent)
                checksum = out.scalars[0] + grad.scalars[0]
                outputs = [out, grad]
            } else {
                outputs = [model.forward(x, timesteps: t)]
                checksum = outputs[0].scalars[0]
            }
        }
        if runs >= 3 { try precision.withEngine(pass) }  // warm-up: first-touch page faults, buffer pool
        // The engine's earlier algorithm (`reference=`), timed just before each run.
        let reference = try Bench.reference(args)
        func referencePass(_ reference: Bench.Reference) throws { try precision.withEngine { try reference.run(pass) } }
        if let reference { try referencePass(reference) }
        var walls: [Double] = [], cpus: [Double] = [], sgemms: [Double] = [], ratios: [Double] = [], cpuRatios: [Double] = []
        var fp32Walls: [Double] = [], speedups: [Double] = []
        var referenceWalls: [Double] = [], referenceSpeedups: [Double] = []
        for _ in 0..<runs {
            let (_, sgemm, sgemmPerCPU) = sgemmGFLOPS(runs: 3)
            if let reference {
                referenceWalls.append(try Bench.seconds { try referencePass(reference) })
            }
            if precision != .fp32 {
                // The fp32 engine is the reduced precision's reference, timed in the same round.
                fp32Walls.append(Bench.seconds(of: pass))
            }
            let (w0, c0) = (DispatchTime.now().uptimeNanoseconds, cpuSeconds())
            try precision.withEngine(pass)
            let wall = Double(DispatchTime.now().uptimeNanoseconds - w0) / 1e9
            walls.append(wall)
            cpus.append(cpuSeconds() - c0)
            sgemms.append(sgemm)
            ratios.append(flop / wall / 1e9 / sgemm)
            cpuRatios.append(flop / cpus.last! / 1e9 / sgemmPerCPU)
            Bench.log(String(format: "  run %.3f s wall, %.3f s cpu; sgemm just before %.1f GFLOP/s; ratio %.3f", wall, cpus.last!, sgemm, ratios.last!))
            if let reference, let referenceWall = referenceWalls.last {
                referenceSpeedups.append(referenceWall / wall)
                Bench.log(String(format: "  reference %@: %.3f s just before: %.3fx", reference.name, referenceWall, referenceSpeedups.last!))
            }
            if let fp32 = fp32Walls.last {
                speedups.append(fp32 / wall)
                Bench.log(String(format: "  fp32 %.3f s just before: %@ %.2fx faster", fp32, precision.rawValue, speedups.last!))
            }
        }
        func median(_ v: [Double]) -> Double { v.sorted()[v.count / 2] }
        // The measured pass's bits: the reference and profile passes below run `pass` again.
        let measuredChecksum = checksum
        // How far the engine's output (and input gradient) is from the reference algorithm's, relative L2.
        var referenceFields: [(String, String)] = []
        if let reference {
            let mine = outputs
            try referencePass(reference)
            referenceFields = [
                ("\(reference.name)_seconds", String(format: "%.3f", median(referenceWalls))),
                ("speedup_vs_\(reference.name)", String(format: "%.3f", median(referenceSpeedups))),
            ]
            for (label, (a, b)) in zip(["output", "gradient"], zip(mine, outputs)) {
                referenceFields.append(("\(label)_relative_l2_vs_\(reference.name)", String(format: "%.2e", relativeL2(a.scalars, b.scalars))))
            }
        }
        let profile = try Bench.profile(args, precision, sgemm: median(sgemms), pass)
        let seconds = median(walls)
        Bench.log("checksum \(measuredChecksum)")
        Bench.report(name, [
            "seconds": String(format: "%.3f", seconds), "gflops": String(format: "%.1f", flop / seconds / 1e9),
            "peak_rss_mb": "\(Bench.peakRSSMiB())", "ratio_to_sgemm": String(format: "%.3f", median(ratios)),
            "sgemm_gflops": String(format: "%.1f", median(sgemms)), "cpu_seconds": String(format: "%.3f", median(cpus)),
            // FLOP per CPU second against single-threaded sgemm's: the efficiency the load does not hide.
            "cpu_ratio_to_sgemm": String(format: "%.3f", median(cpuRatios)),
        ], (precision == .fp32 ? [] : [
            ("precision", precision.rawValue), ("fp32_seconds", String(format: "%.3f", median(fp32Walls))),
            ("speedup_vs_fp32", String(format: "%.2f", median(speedups))),
        ]) + referenceFields + profile)
    }
}

/// `conv3x3 [channels=256] [out=C] [size=256] [runs=5]`: one 3x3 convolution (padding 1; forward and input
/// gradient) as the engine runs the U-Net's (`form`: Winograd F(4x4, 3x3) or F(2x2, 3x3), or direct), against
/// its direct form (shifted taps or unfolded: `direct`), F(2x2, 3x3) (`f2x2`), the unfolded (im2col) algorithm
/// and sgemm in the same run.
/// `out` defaults to `channels`; the U-Net's shapes are listed in BENCHMARKS.md.
enum BenchConv {
    static func run(_ args: ArraySlice<String>) throws {
        func arg(_ key: String, _ fallback: Int) -> Int {
            args.compactMap { $0.hasPrefix(key + "=") ? Int($0.dropFirst(key.count + 1)) : nil }.last ?? fallback
        }
        let c = arg("channels", 256), s = arg("size", 256), runs = arg("runs", 5)
        let out = arg("out", c)
        let (_, sgemm, _) = BenchUNet.sgemmGFLOPS()
        var rng = RandomWeightArchive.Generator(seed: 7)
        let x = Tensor(shape: [1, c, s, s], scalars: (0..<(c * s * s)).map { _ in rng.uniform(scale: 1) })
        let w = Tensor(shape: [out, c, 3, 3], scalars: (0..<(out * c * 9)).map { _ in rng.uniform(scale: 0.02) })
        let b = Tensor(shape: [out], repeating: 0.1)
        let dy = Tensor(shape: [1, out, s, s], scalars: (0..<(out * s * s)).map { _ in rng.uniform(scale: 1) })
        let flop = 2.0 * Double(out * c * 9 * s * s)
        func forward() { _ = Ops.conv2d(Variable(x), weight: w, bias: b, padding: 1, allowsWinograd: true) }
        func gradient() {
            let tape = Tape()
            let v = tape.watch(x)
            _ = tape.gradients(of: Ops.conv2d(v, weight: w, bias: b, padding: 1, allowsWinograd: true), cotangent: dy, wrt: [v])
        }
        // The engine's choice and the unfolded algorithm alternate (after one untimed round), each the median
        // of its own runs, so drift on a shared machine hits both alike.
        let cases: [(String, () -> Void)] = [
            ("forward", forward), ("unfolded_forward", { ConvolutionBenchmark.withUnfoldedConvolutions(forward) }),
            ("gradient", gradient), ("unfolded_gradient", { ConvolutionBenchmark.withUnfoldedConvolutions(gradient) }),
            ("direct_forward", { ConvolutionBenchmark.withoutWinograd(forward) }),
            ("direct_gradient", { ConvolutionBenchmark.withoutWinograd(gradient) }),
            ("f2x2_forward", { ConvolutionBenchmark.withWinogradTile2x2(forward) }),
            ("f2x2_gradient", { ConvolutionBenchmark.withWinogradTile2x2(gradient) }),
        ]
        var times: [String: [Double]] = [:]
        for round in 0...runs {
            for (name, body) in cases {
                let seconds = Bench.seconds(of: body)
                if round > 0 { times[name, default: []].append(seconds) }
            }
        }
        func median(_ key: String) -> Double { times[key]!.sorted()[runs / 2] }
        let (fwd, bwd) = (median("forward"), median("gradient") - median("forward"))
        let (unfoldedFwd, unfoldedBwd) = (median("unfolded_forward"), median("unfolded_gradient") - median("unfolded_forward"))
        let (directFwd, directBwd) = (median("direct_forward"), median("direct_gradient") - median("direct_forward"))
        let (f2Fwd, f2Bwd) = (median("f2x2_forward"), median("f2x2_gradient") - median("f2x2_forward"))
        let form = ConvolutionBenchmark.winogradForm(height: s, width: s, inChannels: c, outChannels: out)
        Bench.report("conv3x3", [
            "channels": "\(c)", "out": "\(out)", "size": "\(s)", "form": form,
            "fwd_seconds": String(format: "%.4f", fwd), "bwd_seconds": String(format: "%.4f", bwd),
            "fwd_gflops": String(format: "%.1f", flop / fwd / 1e9), "bwd_gflops": String(format: "%.1f", flop / bwd / 1e9),
            "sgemm_gflops": String(format: "%.1f", sgemm), "fwd_ratio_to_sgemm": String(format: "%.3f", flop / fwd / 1e9 / sgemm),
            "fwd_speedup_vs_unfolded": String(format: "%.3f", unfoldedFwd / fwd),
            "bwd_speedup_vs_unfolded": String(format: "%.3f", unfoldedBwd / bwd),
            "fwd_speedup_vs_direct": String(format: "%.3f", directFwd / fwd),
            "bwd_speedup_vs_direct": String(format: "%.3f", directBwd / bwd),
            "fwd_speedup_vs_f2x2": String(format: "%.3f", f2Fwd / fwd),
            "bwd_speedup_vs_f2x2": String(format: "%.3f", f2Bwd / bwd),
            "peak_rss_mb": "\(Bench.peakRSSMiB())",
        ])
    }
}
