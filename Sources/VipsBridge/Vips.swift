import CVips
import CVipsShim
import Synchronization

/// Process-wide libvips set-up: start-up, thread count, the loader allowlist, shutdown.
///
/// libvips can be started once per process and never restarted after ``shutdown()``, so start-up is
/// idempotent and shutdown is meant for the very end of `main` (it prints the `VIPS_LEAK` report).
public enum Vips {
    private static let state = Mutex<StartState>(.notStarted)

    private enum StartState {
        case notStarted
        case started
        case failed(String)
        case shutDown
    }

    /// Loaders whose decoders are fuzzed and safe for arbitrary input; everything else (svg, pdf, magick,
    /// fits, ...) is blocked until ``setUntrustedLoadersAllowed(_:)`` lifts the block. The `*Source`
    /// classes cover files too, because files are opened as sources.
    public static let trustedLoaders: [String] = [
        "VipsForeignLoadJpegSource", "VipsForeignLoadPngSource", "VipsForeignLoadWebpSource",
        "VipsForeignLoadNsgifSource", "VipsForeignLoadTiffSource", "VipsForeignLoadHeifSource",
        "VipsForeignLoadPpmSource",
    ]

    /// Starts libvips once (checking the header/library ABI), routes its warnings to ``VipsLog``,
    /// turns the operation cache off (a one-shot filter gains nothing from it) and blocks untrusted loaders.
    public static func start() throws(VipsError) {
        try state.withLock { (state: inout StartState) throws(VipsError) in
            switch state {
            case .started: return
            case .failed(let message): throw VipsError(message)
            case .shutDown: throw VipsError("libvips was shut down and cannot be restarted")
            case .notStarted:
                if cvips_init("stylefilter") != 0 {
                    let message = VipsError.takeBuffer(or: "libvips failed to start")
                    state = .failed(message)
                    throw VipsError(message)
                }
                VipsLog.install()
                vips_cache_set_max(0)
                applyLoaderPolicy(allowUntrusted: false)
                state = .started
            }
        }
    }

    private static let untrustedAllowed = Mutex(false)

    /// Blocks (`false`, the default after ``start()``) or allows every loader outside ``trustedLoaders``.
    ///
    /// Re-blocking briefly blocks every loader before the allowlist is re-opened, so change the policy
    /// before loading starts (as the command line does), not while other threads are loading.
    public static func setUntrustedLoadersAllowed(_ allowed: Bool) throws(VipsError) {
        try start()
        untrustedAllowed.withLock { current in
            guard current != allowed else { return }
            applyLoaderPolicy(allowUntrusted: allowed)
            current = allowed
        }
    }

    private static func applyLoaderPolicy(allowUntrusted: Bool) {
        vips_operation_block_set("VipsForeignLoad", allowUntrusted ? 0 : 1)
        if !allowUntrusted {
            for name in trustedLoaders { vips_operation_block_set(name, 0) }
        }
    }

    /// Worker threads per pipeline; `0` restores libvips' default (`VIPS_CONCURRENCY` or the CPU count).
    public static func setConcurrency(_ threads: Int) throws(VipsError) {
        try start()
        vips_concurrency_set(Int32(clamping: max(0, threads)))
    }

    /// Worker threads libvips will use per pipeline.
    public static var concurrency: Int { Int(vips_concurrency_get()) }

    /// Bytes of pixel memory libvips has allocated at most so far.
    public static var memoryHighWater: Int { Int(vips_tracked_get_mem_highwater()) }

    /// The libvips version, e.g. `8.14.1`.
    public static var version: String { String(cString: vips_version_string()) }

    /// Frees libvips' caches and threads; with `VIPS_LEAK` set this prints the leak report on stderr.
    /// Call at most once, at the end of the process, after every image has been released.
    public static func shutdown() {
        state.withLock { state in
            guard case .started = state else { return }
            vips_shutdown()
            state = .shutDown
        }
    }
}
