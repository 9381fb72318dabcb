import CVips
import Glibc
import Logging
import Synchronization

/// Routes libvips' GLib warnings (domain "VIPS") to swift-log instead of raw stderr lines, and drops
/// repeats: a corrupt file can make libvips warn thousands of times.
public enum VipsLog {
    private struct State {
        var logger = Logger(label: "stylefilter.vips")
        var seen: Set<String> = []
    }

    private static let state = Mutex(State())

    /// Tiles libvips' caches failed to compute. libvips 8.14 then warns "error in tile", blacks the tile
    /// out and stops, and a threaded computation can still report success: a corrupt AVIF thumbnailed
    /// to an all-black image with status 0. The warning names no image, so it is charged to the
    /// computation running at the time, and computations in one process run one at a time
    /// (`computing`): counted while several ran, a truncated JPEG failed the good ones beside it.
    private static let failedTiles = Atomic<Int>(0)
    private static let computing = Mutex(())
    /// The thread holding `computing` (0 when none), so that a computation nested in another is counted
    /// with it instead of waiting for it.
    private static let holder = Atomic<UInt>(0)

    /// Runs a computation of pixels (a save, a copy to memory, a region) and turns a tile that failed
    /// meanwhile into an error, with the cause libvips recorded. libvips' own workers still compute
    /// each one in parallel.
    static func failingOnFailedTiles<R>(_ body: () throws(VipsError) -> R) throws(VipsError) -> R {
        let thread = UInt(pthread_self())
        if holder.load(ordering: .acquiring) == thread { return try body() }
        var outcome: Result<R, VipsError>?
        computing.withLock { _ in
            holder.store(thread, ordering: .releasing)
            defer { holder.store(0, ordering: .releasing) }
            let before = failedTiles.load(ordering: .acquiring)
            outcome = Result { () throws(VipsError) in try body() }
            if case .success = outcome, failedTiles.load(ordering: .acquiring) != before {
                outcome = .failure(VipsError.fromBuffer("part of the image could not be computed"))
            }
        }
        return try outcome!.get()
    }

    /// Sets the logger that receives libvips warnings (the default one logs at swift-log's defaults).
    public static func setLogger(_ logger: Logger) {
        state.withLock { $0.logger = logger }
    }

    static func install() {
        let levels = GLogLevelFlags(
            rawValue: G_LOG_LEVEL_MASK.rawValue | G_LOG_FLAG_FATAL.rawValue | G_LOG_FLAG_RECURSION.rawValue)
        g_log_set_handler("VIPS", levels, { _, level, message, _ in
            guard let message else { return }
            VipsLog.forward(level: level, message: String(cString: message))
        }, nil)
    }

    private static func forward(level: GLogLevelFlags, message: String) {
        if message.hasPrefix("error in tile") { failedTiles.add(1, ordering: .releasing) }
        state.withLock { state in
            guard state.seen.count < 1000, state.seen.insert(message).inserted else { return }
            let bits = level.rawValue
            if bits & (G_LOG_LEVEL_ERROR.rawValue | G_LOG_LEVEL_CRITICAL.rawValue) != 0 {
                state.logger.error("libvips: \(message)")
            } else if bits & G_LOG_LEVEL_WARNING.rawValue != 0 {
                // Info, not warning: libvips warns on the way to most decode failures, which are then
                // reported once as an error; -v shows the details.
                state.logger.info("libvips: \(message)")
            } else {
                state.logger.debug("libvips: \(message)")
            }
        }
    }
}
