import Foundation

/// Progress of a style run over all its outputs: a percentage for the progress display (held below
/// 100 until the run ends) and a step line with the elapsed time and an ETA for `-v`.
struct StyleProgress {
    let total: Int
    let context: PipelineContext
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    init(total: Int, context: PipelineContext) {
        self.total = total
        self.context = context
        start = clock.now
    }

    /// `finished` steps of `total` are done.
    func report(_ finished: Int) {
        context.progress?(min(99, 100 * finished / max(total, 1)))
        let elapsed = clock.now - start
        let eta = elapsed / max(finished, 1) * (total - finished)
        context.logger.info("style: step \(finished)/\(total), elapsed \(Self.format(elapsed)), ETA \(Self.format(eta))")
    }

    /// The run is over.
    func finish() { context.progress?(100) }

    static func format(_ d: Duration) -> String {
        let s = Int(d.components.seconds)
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }
}
