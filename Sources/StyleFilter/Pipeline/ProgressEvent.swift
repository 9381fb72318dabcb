/// What a run is doing, reported through ``PipelineContext/progress`` while it works: the phase, and
/// for phases that count something, how far it is.
public struct ProgressEvent: Sendable, Equatable {
    public enum Phase: String, Sendable, Codable, CaseIterable {
        /// libvips decodes the input into memory (before a stage that needs the whole image).
        case decoding
        /// The style stage loads its networks.
        case loadingModels = "loading models"
        /// The style stage computes what stays fixed during the run: source and style-image features, CLIP targets.
        case referenceFeatures = "reference features"
        /// A guided step is done (`done` of `total` steps of output `output` of `outputs`).
        case step
        /// The range test fired: the output starts again (`note` says why and how many are left).
        case restart
        /// An output's colours are matched to the style image.
        case colourMatching = "colour matching"
        /// libvips computes and encodes the result (`done` percent).
        case encoding
    }

    public var phase: Phase
    /// Units done and their total in this phase (steps, or percent for libvips' phases).
    public var done: Int?, total: Int?
    /// The output being made and how many there are (`--iterations`).
    public var output: Int?, outputs: Int?
    /// Estimated time until the phase's last unit is done.
    public var eta: Duration?
    /// A line of explanation (restarts).
    public var note: String?

    public init(
        _ phase: Phase, done: Int? = nil, total: Int? = nil, output: Int? = nil, outputs: Int? = nil, eta: Duration? = nil, note: String? = nil
    ) {
        self.phase = phase
        self.done = done
        self.total = total
        self.output = output
        self.outputs = outputs
        self.eta = eta
        self.note = note
    }
}
