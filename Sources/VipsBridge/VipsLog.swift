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
