import CVips
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
    /// to an all-black image with status 0. Counted process-wide, so a failure in one pipeline also
    /// fails any other computing at that moment (a spurious failure, never a silent black image).
    private static let failedTiles = Atomic<Int>(0)

    /// Runs a computation of pixels (a save, a copy to memory, a region) and turns a tile that failed
    /// meanwhile into an error, with the cause libvips recorded.
    static func failingOnFailedTiles<R>(_ body: () throws(VipsError) -> R) throws(VipsError) -> R {
        let before = failedTiles.load(ordering: .acquiring)
        let result = try body()
        guard failedTiles.load(ordering: .acquiring) == before else {
            throw VipsError.fromBuffer("part of the image could not be computed")
        }
        return result
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
