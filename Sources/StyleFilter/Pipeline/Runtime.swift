import Engine
import Foundation
import Logging
import VipsBridge

/// Process-wide settings and facts shared by libvips and the engine, so a program using the stages
/// never talks to either directly.
public enum Runtime {
    /// The stylefilter version (the command's `--version`, the provenance of its outputs).
    public static let version = "0.1.0"

    /// Starts libvips, applies the loader allowlist and sets one thread budget for both libvips'
    /// workers and OpenBLAS (`0` keeps their defaults: CPU count or `VIPS_CONCURRENCY`/`OPENBLAS_NUM_THREADS`).
    /// They never run at the same time (libvips is idle while the engine computes), so they share it.
    public static func configure(threads: Int = 0, allowUntrusted: Bool = false) throws {
        guard threads >= 0 else { throw StyleFilterError(.usage, "thread count must be 0 (auto) or more") }
        try wrap(.failure) { () throws(VipsError) in
            try Vips.start()
            try Vips.setUntrustedLoadersAllowed(allowUntrusted)
            try Vips.setConcurrency(threads)
        }
        if threads > 0 { EngineThreads.set(threads) }
    }

    /// Releases libvips' caches and threads before the process exits; with `VIPS_LEAK` set, libvips
    /// then reports any image still alive.
    public static func shutdown() { Vips.shutdown() }

    /// Where libvips' warnings go (repeats are dropped).
    public static func logLibvipsWarnings(to logger: Logger) { VipsLog.setLogger(logger) }

    /// Makes sure the engine's GEMMs run the fastest OpenBLAS kernels this CPU has, when the installed
    /// OpenBLAS does not know the CPU (``BLASCore``): may run the program again with
    /// `OPENBLAS_CORETYPE` set, so call it first thing, before any input is read.
    public static func selectEngineKernels() { BLASCore.selectForThisCPU() }

    /// Which OpenBLAS kernels run and who chose them (for `-v`).
    public static var engineKernels: String { BLASCore.summary }

    /// Threads the engine's BLAS will use.
    public static var engineThreads: Int { EngineThreads.current }

    /// libvips' worker threads.
    public static var libvipsThreads: Int { Vips.concurrency }

    /// The most memory libvips held at once so far, in bytes.
    public static var libvipsMemoryHighWater: Int { Vips.memoryHighWater }

    /// The most resident memory this process has used so far, in bytes (Linux's VmHWM; getrusage's
    /// maximum would include the parent's memory when it was spawned by fork and exec). 0 if unknown.
    public static var peakResidentBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.dropFirst("VmHWM:".count).filter(\.isNumber))
        else { return 0 }
        return kilobytes * 1024
    }

    /// The libvips version in use, e.g. "8.14.1".
    public static var libvipsVersion: String { Vips.version }
}
