import Logging
import VipsBridge

/// Settings every stage of one run can see.
public struct PipelineContext: Sendable {
    /// Loader strictness for the input.
    public var failOn: FailOn
    /// Seed for stochastic stages that have no seed of their own.
    public var seed: UInt64
    /// Largest image (in pixels) the filter will hold in memory when a stage needs random access or
    /// whole-image pixels; protects against headers that declare absurd sizes.
    public var maxPixels: Int
    /// Diagnostics (stderr in the command line).
    public var logger: Logger
    /// Told what the run is doing while it works (phases, steps, ETA); see ``Progress``.
    public var progress: (@Sendable (ProgressEvent) -> Void)?

    public init(
        failOn: FailOn = .truncated, seed: UInt64 = 42, maxPixels: Int = 1 << 28,
        logger: Logger = Logger(label: "stylefilter"), progress: (@Sendable (ProgressEvent) -> Void)? = nil
    ) {
        self.failOn = failOn
        self.seed = seed
        self.maxPixels = maxPixels
        self.logger = logger
        self.progress = progress
    }
}
