import Foundation
import StyleFilter
import Synchronization

/// Shows a run's ``Progress`` on stderr: one line redrawn in place on a terminal, a line per phase and
/// per tenth of the steps in plain mode, or one JSON object per event for wrappers and GUIs.
final class ProgressReporter: Sendable {
    enum Style { case redraw, plain, json }

    private struct State {
        var phase: ProgressEvent.Phase?
        var tenth = -1
        var output: Int?
        var lastLength = 0
        /// The last event shown: libvips repeats its percentages.
        var last: ProgressEvent?
    }

    private let style: Style
    private let state = Mutex(State())
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    init(style: Style) {
        self.style = style
        start = clock.now
    }

    /// The reporter for a mode, or nil when nothing should be shown.
    static func make(mode: ProgressMode, console: Console, quiet: Bool) -> ProgressReporter? {
        if quiet { return nil }
        switch mode {
        case .never: return nil
        case .plain: return ProgressReporter(style: .plain)
        case .json: return ProgressReporter(style: .json)
        case .always: return ProgressReporter(style: .redraw)
        case .auto: return console.standardErrorIsTerminal ? ProgressReporter(style: .redraw) : nil
        }
    }

    func report(_ event: ProgressEvent) {
        let elapsed = clock.now - start
        let text: String? = state.withLock { state in
            guard state.last != event || event.phase == .restart else { return nil }
            state.last = event
            defer { state.phase = event.phase }
            switch style {
            case .json:
                return Self.json(event, elapsed: elapsed) + "\n"
            case .plain:
                let phaseChanged = state.phase != event.phase || state.output != event.output
                state.output = event.output
                guard let done = event.done, let total = event.total, total > 0 else {
                    return phaseChanged || event.phase == .restart ? "stylefilter: \(Self.describe(event, elapsed: elapsed))\n" : nil
                }
                // A line when the phase starts and at every tenth of it.
                let tenth = 10 * done / total
                if phaseChanged { state.tenth = -1 }
                guard tenth != state.tenth else { return nil }
                state.tenth = tenth
                return "stylefilter: \(Self.describe(event, elapsed: elapsed))\n"
            case .redraw:
                let line = "stylefilter: " + Self.describe(event, elapsed: elapsed)
                // Pad over the longer line before it, so nothing of it is left on the screen.
                let padding = String(repeating: " ", count: max(0, state.lastLength - line.count))
                state.lastLength = line.count
                // A restart's note stays on screen.
                if event.phase == .restart { state.lastLength = 0 }
                return "\r" + line + padding + (event.phase == .restart ? "\n" : "")
            }
        }
        if let text { Console.writeError(text) }
    }

    /// Ends the redrawn line, so what follows (the shell prompt, an error) starts on a line of its own.
    func finish() {
        guard style == .redraw else { return }
        let drawn = state.withLock { state in
            defer { state.lastLength = 0 }
            return state.lastLength > 0
        }
        if drawn { Console.writeError("\n") }
    }

    /// "step 12/129 of output 1/2, 0:05:10 elapsed, ETA 1:02:03", "decoding 45%", "loading models".
    static func describe(_ e: ProgressEvent, elapsed: Duration) -> String {
        var text = e.phase.rawValue
        if let done = e.done, let total = e.total {
            text += e.phase == .step ? " \(done)/\(total)" : " \(total == 100 ? done : 100 * done / max(total, 1))%"
        }
        if let output = e.output, let outputs = e.outputs, outputs > 1 { text += " of output \(output)/\(outputs)" }
        if let note = e.note { text += ": " + note }
        if e.phase == .step {
            text += ", \(format(elapsed)) elapsed"
            if let eta = e.eta { text += ", ETA \(format(eta))" }
        }
        return text
    }

    /// `{"phase":"step","step":12,"steps":129,"output":1,"outputs":1,"elapsed":310.2,"eta":3723.0}`.
    static func json(_ e: ProgressEvent, elapsed: Duration) -> String {
        struct Line: Encodable {
            var phase: String
            var step: Int?, steps: Int?, percent: Int?, output: Int?, outputs: Int?
            var elapsed: Double
            var eta: Double?
            var note: String?
        }
        func seconds(_ d: Duration) -> Double { (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 * 1000).rounded() / 1000 }
        let counted = e.phase == .step
        let line = Line(
            phase: e.phase.rawValue, step: counted ? e.done : nil, steps: counted ? e.total : nil,
            percent: counted ? nil : e.done.flatMap { done in e.total.map { 100 * done / max($0, 1) } }, output: e.output, outputs: e.outputs,
            elapsed: seconds(elapsed), eta: e.eta.map(seconds), note: e.note)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(line), as: UTF8.self)) ?? "{\"phase\":\"\(e.phase.rawValue)\"}"
    }

    static func format(_ d: Duration) -> String {
        let s = Int(d.components.seconds)
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
