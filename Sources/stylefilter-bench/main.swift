import Engine
import Foundation

// `stylefilter-bench CASE`: each case prints progress on stderr and its result as the last stdout line.
// Cases register here, one file each (Bench<Name>.swift).
var cases: [String: (ArraySlice<String>) throws -> Void] = [
    "sgemm": BenchUNet.sgemm,
    "matmul": BenchUNet.matmul,
    "unet256-fwd": { try BenchUNet.unet("unet256-fwd", gradient: false, $0) },
    "conv3x3": BenchConv.run,
    "loop-overhead": BenchLoopOverhead.run,
    "unet256-grad": { try BenchUNet.unet("unet256-grad", gradient: true, $0) },
    "dino-b8-grad": BenchFeatureNetworks.dino,
    "clip-b32-grad": BenchFeatureNetworks.clip,
]
#if !ENGINE_ONLY_BENCH
// The cases that run StyleFilter (and so libvips); an engine-only build (Package.swift) leaves them out.
cases.merge([
    "pipeline": BenchPipeline.run,
    "step-image": { try BenchStep.run(.image, $0) },
    "step-text": { try BenchStep.run(.text, $0) },
    "step-faces": { try BenchStep.run(.faces, $0) },
    "tiles-whole": BenchTiles.whole,
    "tiles-tiled": BenchTiles.tiled,
    "tiles-detail": BenchTiles.detail,
    "tiles-memory": BenchTilesMemory.run,
    "tiles-memory-child": BenchTilesMemory.child,
]) { first, _ in first }
#endif

// As the command does: the best OpenBLAS kernels for this CPU, then what runs is printed with every case.
BLASCore.selectForThisCPU()
Bench.log(BLASCore.summary)
let args = CommandLine.arguments
guard args.count >= 2, let run = cases[args[1]] else {
    Bench.log("usage: stylefilter-bench CASE [options] [threads=N]\ncases: \(cases.keys.sorted().joined(separator: ", "))")
    exit(64)
}
// `threads=N` cuts the engine's work as for N threads. With more than the machine's cores, Dispatch still runs
// only one worker per core, each taking its share of the parts in turn: the CPU seconds then show what cutting
// the work that finely costs (re-packed operands, smaller tiles), on a machine with fewer cores.
if let value = args.dropFirst(2).last(where: { $0.hasPrefix("threads=") })?.dropFirst(8) {
    guard let threads = Int(value), threads >= 1 else {
        Bench.log("stylefilter-bench: threads=N needs a whole number N >= 1, not '\(value)'")
        exit(64)
    }
    EngineThreads.set(threads)
}
do {
    try run(args.dropFirst(2))
} catch {
    Bench.log("stylefilter-bench: \(error)")
    exit(1)
}
