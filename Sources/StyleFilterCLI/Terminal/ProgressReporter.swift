import Foundation
import Synchronization

/// Draws libvips' percentage on stderr: redrawn in place on a terminal, one line per 10% in plain mode.
final class ProgressReporter: Sendable {
    private let redraw: Bool
    private let last = Mutex(-1)

    init(redraw: Bool) { self.redraw = redraw }

    /// The reporter for a mode, or nil when nothing should be shown.
    static func make(mode: ProgressMode, console: Console, quiet: Bool) -> ProgressReporter? {
        if quiet { return nil }
        switch mode {
        case .never: return nil
        case .plain: return ProgressReporter(redraw: false)
        case .always: return ProgressReporter(redraw: true)
        case .auto: return console.standardErrorIsTerminal ? ProgressReporter(redraw: true) : nil
        }
    }

    func report(_ percent: Int) {
        let text: String? = last.withLock { last in
            let step = redraw ? percent : percent / 10 * 10
            guard step != last else { return nil }
            last = step
            return redraw ? "\rstylefilter: \(step)%" + (step >= 100 ? "\n" : "") : "stylefilter: \(step)%\n"
        }
        if let text { Console.writeError(text) }
    }
}
