import Engine
import VipsBridge

/// Process-wide settings shared by libvips and the engine.
public enum Runtime {
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

    /// Threads the engine's BLAS will use.
    public static var engineThreads: Int { EngineThreads.current }
}
