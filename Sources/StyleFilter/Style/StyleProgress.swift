import Foundation

/// Progress of a style run over all its outputs: step events with the output's number and an ETA (from
/// the run's own pace), and a step line with the elapsed time for `-v`.
struct StyleProgress {
    let stepsPerOutput: Int
    let outputs: Int
    let context: PipelineContext
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    init(stepsPerOutput: Int, outputs: Int, context: PipelineContext) {
        self.stepsPerOutput = max(stepsPerOutput, 1)
        self.outputs = outputs
        self.context = context
        start = clock.now
    }

    var total: Int { stepsPerOutput * outputs }

    /// `finished` steps of all outputs are done.
    func report(_ finished: Int) {
        let elapsed = clock.now - start
        let eta = elapsed / max(finished, 1) * max(total - finished, 0)
        let output = min((finished - 1) / stepsPerOutput, outputs - 1)
        let done = finished - output * stepsPerOutput
        context.progress?(ProgressEvent(.step, done: done, total: stepsPerOutput, output: output + 1, outputs: outputs, eta: eta))
        context.logger.info("style: step \(finished)/\(total), elapsed \(Self.format(elapsed)), ETA \(Self.format(eta))")
    }

    static func format(_ d: Duration) -> String {
        let s = Int(d.components.seconds)
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
