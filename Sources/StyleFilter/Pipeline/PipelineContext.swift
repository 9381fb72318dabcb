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
    /// Called with 0...100 while the output is computed.
    public var progress: (@Sendable (Int) -> Void)?

    public init(
        failOn: FailOn = .truncated, seed: UInt64 = 42, maxPixels: Int = 1 << 28,
        logger: Logger = Logger(label: "stylefilter"), progress: (@Sendable (Int) -> Void)? = nil
    ) {
        self.failOn = failOn
        self.seed = seed
        self.maxPixels = maxPixels
        self.logger = logger
        self.progress = progress
    }
}
