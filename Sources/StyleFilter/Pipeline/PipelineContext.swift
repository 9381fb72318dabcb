import Logging
import VipsBridge

/// Settings every stage of one run can see.
public struct PipelineContext: Sendable {
    /// Loader strictness for the input.
    public var failOn: FailOn
    /// Seed for stochastic stages that have no seed of their own.
    public var seed: UInt64
    /// Largest image (in pixels) the filter reads or makes (`--max-pixels`): the input as its header
    /// declares it, streaming or not, and every stage's result. Protects against headers that declare
    /// absurd sizes and arguments that would make one.
    public var maxPixels: Int

    /// The default limit: 100 megapixels, a 16-bit RGBA image of 800 MB (the filter holds a few such
    /// buffers at most), which leaves room on machines with a few GB of memory.
    public static let defaultMaxPixels = 100_000_000
    /// Diagnostics (stderr in the command line).
    public var logger: Logger
    /// Told what the run is doing while it works (phases, steps, ETA); see ``Progress``.
    public var progress: (@Sendable (ProgressEvent) -> Void)?

    public init(
        failOn: FailOn = .truncated, seed: UInt64 = 42, maxPixels: Int = PipelineContext.defaultMaxPixels,
        logger: Logger = Logger(label: "stylefilter"), progress: (@Sendable (ProgressEvent) -> Void)? = nil
    ) {
        self.failOn = failOn
        self.seed = seed
        self.maxPixels = maxPixels
        self.logger = logger
        self.progress = progress
    }
}
