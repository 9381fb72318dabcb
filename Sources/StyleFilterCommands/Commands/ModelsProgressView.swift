import Foundation
import StyleFilter
import Synchronization

/// Download and hashing progress on stderr: redrawn in place (percentage, size, rate, ETA) on a
/// terminal, a log line per 10% otherwise, nothing when quiet.
final class TransferProgressView: Sendable {
    enum Style: Sendable {
        case redraw, lines, none
    }

    private struct State {
        var lastDraw = ContinuousClock.now - .seconds(10)
        var lastStep = -1
        var width = 0
    }

    private let label: String
    private let style: Style
    private let state = Mutex(State())

    init(label: String, style: Style) {
        self.label = label
        self.style = style
    }

    /// Reports a transfer's state; `finished` draws the final line.
    func update(_ progress: DownloadProgress) {
        update(bytes: progress.bytes, total: progress.total, rate: progress.bytesPerSecond, finished: progress.finished)
    }

    func update(bytes: Int64, total: Int64?, rate: Double, finished: Bool) {
        guard style != .none else { return }
        let percent = total.map { $0 > 0 ? Int(min(Double(bytes) * 100 / Double($0), 100)) : 100 }
        let text: String? = state.withLock { state in
            let now = ContinuousClock.now
            switch style {
            case .none:
                return nil
            case .redraw:
                guard finished || now - state.lastDraw >= .milliseconds(200) else { return nil }
                state.lastDraw = now
                var line = "stylefilter: \(label) "
                if let percent { line += "\(percent)% " }
                line += ByteCount.format(bytes)
                if let total { line += " of \(ByteCount.format(total))" }
                if rate > 0, rate < 1e15 { line += ", \(ByteCount.format(Int64(rate)))/s" }
                if !finished, let total, bytes < total, rate > 0 { line += ", ETA \(Self.duration(Double(total - bytes) / rate))" }
                let padding = String(repeating: " ", count: max(0, state.width - line.count))
                // A finished line ends with a newline; nothing is left to clear or abandon.
                state.width = finished ? 0 : line.count
                return "\r" + line + padding + (finished ? "\n" : "")
            case .lines:
                let step = finished ? 100 : (percent ?? 0) / 10 * 10
                guard step != state.lastStep, percent != nil || finished else { return nil }
                state.lastStep = step
                var line = "stylefilter: \(label) \(step)% (\(ByteCount.format(bytes))"
                if let total { line += " of \(ByteCount.format(total))" }
                if rate > 0, rate < 1e15 { line += ", \(ByteCount.format(Int64(rate)))/s" }
                if !finished, let total, bytes < total, rate > 0 { line += ", ETA \(Self.duration(Double(total - bytes) / rate))" }
                return line + ")\n"
            }
        }
        if let text { Console.writeError(text) }
    }

    /// Ends a redrawn line that did not finish (an error follows on its own line).
    func abandon() {
        guard style == .redraw else { return }
        let drawn = state.withLock { $0.width > 0 }
        if drawn { Console.writeError("\n") }
    }

    static func duration(_ seconds: Double) -> String {
        // Rates and sizes come from a server: anything past a year is no estimate.
        guard seconds.isFinite, seconds >= 0, seconds < 365 * 86400 else { return "?" }
        let total = Int(seconds.rounded())
        if total >= 3600 { return String(format: "%d:%02d:%02d", total / 3600, total / 60 % 60, total % 60) }
        return String(format: "%d:%02d", total / 60, total % 60)
    }
}
