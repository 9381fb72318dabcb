/// Architecture of an ArcFace IR-SE backbone (cyclomon/DiffuseIT `id_model/model_irse.py` `Backbone(mode='ir_se')`,
/// from TreB1eN's InsightFace port): a 3x3 stem, stages of `bottleneck_IR_SE` units and an output layer giving
/// an L2-normalised embedding.
public struct ArcFaceConfig: Sendable, Equatable {
    /// One stage of units (upstream `get_block`): the first unit goes from the previous width to `width` with
    /// `stride`, the others keep `width` with stride 1.
    public struct Stage: Sendable, Equatable {
        /// Output channels of every unit in the stage (`depth`).
        public var width: Int
        /// Number of `bottleneck_IR_SE` units.
        public var units: Int
        /// Stride of the stage's first unit (2 in every `get_block`).
        public var stride: Int
        /// Hidden width of the units' squeeze-and-excitation (`width / 16` upstream).
        public var squeezeChannels: Int

        /// A stage of the given shape.
        public init(width: Int, units: Int, stride: Int = 2, squeezeChannels: Int) {
            self.width = width
            self.units = units
            self.stride = stride
            self.squeezeChannels = squeezeChannels
        }
    }

    /// Output channels of the stem convolution (`input_layer.0`).
    public var stemChannels: Int
    /// The body's stages, in order.
    public var stages: [Stage]
    /// Width of the embedding (`output_layer.3`'s outputs).
    public var embeddingDim: Int
    /// Side of the square input images (112 upstream; it fixes the final map the output Linear flattens).
    public var inputSize: Int
    /// BatchNorm epsilon (PyTorch's default 1e-5 everywhere in the network).
    public var batchNormEps: Float

    /// A config from explicit values.
    public init(stemChannels: Int, stages: [Stage], embeddingDim: Int, inputSize: Int = 112, batchNormEps: Float = 1e-5) {
        self.stemChannels = stemChannels
        self.stages = stages
        self.embeddingDim = embeddingDim
        self.inputSize = inputSize
        self.batchNormEps = batchNormEps
    }

    /// IR-SE-50 as `model_ir_se50.pth` holds it (DiffuseIT's `--use_ffhq` identity network): units 3-4-14-3,
    /// widths 64-128-256-512, a 512-d embedding of 112x112 faces.
    public static let irSE50 = ArcFaceConfig(
        stemChannels: 64,
        stages: [
            Stage(width: 64, units: 3, squeezeChannels: 4), Stage(width: 128, units: 4, squeezeChannels: 8),
            Stage(width: 256, units: 14, squeezeChannels: 16), Stage(width: 512, units: 3, squeezeChannels: 32),
        ],
        embeddingDim: 512)

    /// Channels of the last stage's output (`output_layer.0`'s BatchNorm2d).
    public var outputChannels: Int { stages.last?.width ?? stemChannels }

    /// Side of the last stage's output map (7 for 112x112 inputs).
    public var finalMapSize: Int { stages.reduce(inputSize) { side, stage in Self.outputSide(side, stride: stage.stride) } }

    /// Inputs of the output Linear: the last stage's map flattened channel-major (512·7·7 = 25088 for IR-SE-50).
    var flattenedFeatures: Int { outputChannels * finalMapSize * finalMapSize }

    /// Side of a unit's output for an input of side `side`: its strided, padded 3x3 convolution and its shortcut
    /// (a strided 1x1 convolution or `MaxPool2d(1, stride)`) both keep rows 0, stride, 2·stride, ...
    static func outputSide(_ side: Int, stride: Int) -> Int { (side - 1) / stride + 1 }

    /// Units per stage of each upstream `num_layers` (`get_blocks`): 50 → 3-4-14-3, 100 → 3-13-30-3,
    /// 152 → 3-8-36-3.
    public static let unitsPerStage: [Int: [Int]] = [50: [3, 4, 14, 3], 100: [3, 13, 30, 3], 152: [3, 8, 36, 3]]

    /// The upstream `num_layers` whose `get_blocks` lists these units per stage, or nil for another layout.
    public var numLayers: Int? {
        Self.unitsPerStage.first { $0.value == stages.map(\.units) }?.key
    }

    /// "IR-SE-50 (widths [64, 128, 256, 512], 512-d embedding, 112x112 input)", or the units per stage for a
    /// layout `get_blocks` does not name.
    public var name: String {
        let family = numLayers.map { "IR-SE-\($0)" } ?? "IR-SE (units \(stages.map(\.units)))"
        return "\(family) (widths \(stages.map(\.width)), \(embeddingDim)-d embedding, \(inputSize)x\(inputSize) input)"
    }

    /// One `bottleneck_IR_SE` unit of the body (an entry of upstream `get_blocks`, flattened over the stages).
    struct Unit: Equatable {
        let inChannels: Int, depth: Int, stride: Int, squeezeChannels: Int
        /// Upstream's rule: a 1x1 convolution + BatchNorm when the width changes, else `MaxPool2d(1, stride)`.
        var hasShortcutConvolution: Bool { inChannels != depth }
    }

    /// The body's units in order (`body.0`, `body.1`, ...).
    var units: [Unit] {
        var result: [Unit] = []
        var channels = stemChannels
        for stage in stages {
            for i in 0..<stage.units {
                result.append(Unit(inChannels: channels, depth: stage.width, stride: i == 0 ? stage.stride : 1, squeezeChannels: stage.squeezeChannels))
                channels = stage.width
            }
        }
        return result
    }

    /// What a state-dict tensor is, for counting trainable parameters and drawing random weights.
    enum ParameterRole {
        case convolutionOrLinearWeight, linearBias, normWeight, normBias, runningMean, runningVariance, batchCount, slope

        var isTrainable: Bool { ![.runningMean, .runningVariance, .batchCount].contains(self) }
    }

    /// Every state-dict tensor (BatchNorm statistics included) as (name, shape, role), in the checkpoint's order:
    /// `input_layer`, `output_layer`, then `body.i` (its shortcut before its residual branch).
    func parameterLayout() -> [(name: String, shape: [Int], role: ParameterRole)] {
        var out: [(name: String, shape: [Int], role: ParameterRole)] = []
        func batchNorm(_ p: String, _ c: Int) {
            out += [
                (p + ".weight", [c], .normWeight), (p + ".bias", [c], .normBias), (p + ".running_mean", [c], .runningMean),
                (p + ".running_var", [c], .runningVariance), (p + ".num_batches_tracked", [], .batchCount),
            ]
        }
        let (s, c, e) = (stemChannels, outputChannels, embeddingDim)
        out.append(("input_layer.0.weight", [s, 3, 3, 3], .convolutionOrLinearWeight))
        batchNorm("input_layer.1", s)
        out.append(("input_layer.2.weight", [s], .slope))
        batchNorm("output_layer.0", c)
        out += [("output_layer.3.weight", [e, flattenedFeatures], .convolutionOrLinearWeight), ("output_layer.3.bias", [e], .linearBias)]
        batchNorm("output_layer.4", e)
        for (i, u) in units.enumerated() {
            let p = "body.\(i)."
            if u.hasShortcutConvolution {
                out.append((p + "shortcut_layer.0.weight", [u.depth, u.inChannels, 1, 1], .convolutionOrLinearWeight))
                batchNorm(p + "shortcut_layer.1", u.depth)
            }
            batchNorm(p + "res_layer.0", u.inChannels)
            out += [
                (p + "res_layer.1.weight", [u.depth, u.inChannels, 3, 3], .convolutionOrLinearWeight), (p + "res_layer.2.weight", [u.depth], .slope),
                (p + "res_layer.3.weight", [u.depth, u.depth, 3, 3], .convolutionOrLinearWeight),
            ]
            batchNorm(p + "res_layer.4", u.depth)
            out += [
                (p + "res_layer.5.fc1.weight", [u.squeezeChannels, u.depth, 1, 1], .convolutionOrLinearWeight),
                (p + "res_layer.5.fc2.weight", [u.depth, u.squeezeChannels, 1, 1], .convolutionOrLinearWeight),
            ]
        }
        return out
    }

    /// Every tensor of the model's state dict as (name, shape), BatchNorm statistics and `num_batches_tracked`
    /// included, in the checkpoint's order (397 tensors for IR-SE-50).
    public func parameterShapes() -> [(name: String, shape: [Int])] {
        parameterLayout().map { ($0.name, $0.shape) }
    }

    /// Trainable parameters (BatchNorm statistics excluded): 43,797,696 for IR-SE-50.
    public var parameterCount: Int {
        parameterLayout().filter(\.role.isTrainable).reduce(0) { $0 + Tensor.elementCount($1.shape) }
    }

    /// Upper bounds that keep every size and count derived from a config far from integer overflow; real
    /// networks are orders of magnitude below them.
    static let maximumChannels = 1 << 13, maximumInputSize = 1 << 12, maximumStages = 8, maximumUnitsPerStage = 1 << 10

    /// Checks that the values describe a buildable network; throws a one-line reason otherwise.
    func validate() throws {
        func check(_ ok: Bool, _ why: @autoclosure () -> String) throws {
            if !ok { throw ArcFaceError.invalidConfig(why()) }
        }
        let channels = 1...Self.maximumChannels
        try check(channels.contains(stemChannels) && channels.contains(embeddingDim), "stem \(stemChannels) and embedding \(embeddingDim) must be in \(channels)")
        try check((1...Self.maximumStages).contains(stages.count), "\(stages.count) stages, expected 1...\(Self.maximumStages)")
        for (i, stage) in stages.enumerated() {
            try check(channels.contains(stage.width) && channels.contains(stage.squeezeChannels), "stage \(i + 1): width \(stage.width) and squeeze \(stage.squeezeChannels) must be in \(channels)")
            try check((1...Self.maximumUnitsPerStage).contains(stage.units), "stage \(i + 1): \(stage.units) units, expected 1...\(Self.maximumUnitsPerStage)")
            try check((1...4).contains(stage.stride), "stage \(i + 1): stride \(stage.stride), expected 1...4")
        }
        try check((1...Self.maximumInputSize).contains(inputSize), "input size \(inputSize), expected 1...\(Self.maximumInputSize)")
        try check(batchNormEps > 0 && batchNormEps.isFinite, "BatchNorm epsilon \(batchNormEps) must be positive")
    }

    /// Reads the architecture from a `Backbone(mode='ir_se')` state dict's names and shapes alone.
    ///
    /// Units are `body.0`, `body.1`, ...; a stage starts wherever the width changes (every `get_blocks`
    /// layout widens at each stage) and its first unit has stride 2 (`get_block`'s rule, invisible in the
    /// shapes); the input size follows from the output Linear, whose input is the flattened final map
    /// (512·7·7 for 112x112 faces). Then every tensor of that architecture must be present with its shape
    /// (`num_batches_tracked` may be missing: eval mode never reads it) and no other tensor may be.
    public static func recognise(_ weights: WeightStore) throws -> ArcFaceConfig {
        func notRecognised(_ why: String) -> ArcFaceError { .notRecognised(why) }
        /// Every extent is bounded (`ShapeRecognition`): the shapes come from the file.
        func shape(_ name: String, rank: Int) throws -> [Int] { try weights.shape(name, rank: rank, orThrow: notRecognised) }
        let stem = try shape("input_layer.0.weight", rank: 4)
        guard stem[1...] == [3, 3, 3] else { throw notRecognised("input_layer.0.weight has shape \(stem), expected [C, 3, 3, 3]") }
        var stages: [Stage] = []
        var unitCount = 0
        while weights.contains("body.\(unitCount).res_layer.1.weight") {
            let p = "body.\(unitCount).res_layer"
            guard unitCount < maximumStages * maximumUnitsPerStage else { throw notRecognised("more than \(maximumStages * maximumUnitsPerStage) units") }
            let depth = try shape(p + ".1.weight", rank: 4)[0]
            guard weights.contains(p + ".5.fc1.weight") else {
                throw notRecognised("\(weights.fullName(p + ".5.fc1.weight")) is missing: only IR-SE networks (with squeeze-excitation) are supported")
            }
            let squeeze = try shape(p + ".5.fc1.weight", rank: 4)[0]
            if let last = stages.last, last.width == depth {
                stages[stages.count - 1].units += 1
            } else {
                stages.append(Stage(width: depth, units: 1, stride: 2, squeezeChannels: squeeze))
            }
            unitCount += 1
        }
        guard let last = stages.last else { throw notRecognised("no tensor \(weights.fullName("body.0.res_layer.1.weight"))") }
        guard stages.count <= maximumStages else { throw notRecognised("\(stages.count) stages, more than \(maximumStages)") }
        let linear = try shape("output_layer.3.weight", rank: 2)
        guard linear[1] % last.width == 0, let side = ShapeRecognition.squareSide(of: linear[1] / last.width) else {
            throw notRecognised("output_layer.3.weight takes \(linear[1]) inputs, not \(last.width) channels times a square map")
        }
        // Each stride-2 stage halves an even side exactly, so the input is the final side doubled per stage.
        let config = ArcFaceConfig(stemChannels: stem[0], stages: stages, embeddingDim: linear[0], inputSize: side << stages.count)
        do { try config.validate() } catch ArcFaceError.invalidConfig(let why) { throw notRecognised(why) }
        try config.checkTensors(weights)
        return config
    }

    /// Throws unless `weights` holds exactly this architecture's tensors with their shapes (`num_batches_tracked`
    /// optional).
    func checkTensors(_ weights: WeightStore) throws {
        let expected = parameterShapes()
        for (name, shape) in expected where !name.hasSuffix(".num_batches_tracked") {
            guard let found = weights.shape(of: name) else { throw ArcFaceError.notRecognised("no tensor \(weights.fullName(name)) (expected for \(self.name))") }
            guard found == shape else { throw ArcFaceError.notRecognised("\(weights.fullName(name)) has shape \(found), expected \(shape) for \(self.name)") }
        }
        let known = Set(expected.map { weights.fullName($0.name) })
        let scope = weights.prefix.isEmpty ? "" : weights.prefix + "."
        if let extra = weights.archive.tensorNames.first(where: { $0.hasPrefix(scope) && !known.contains($0) }) {
            throw ArcFaceError.notRecognised("unexpected tensor \(extra) for \(name)")
        }
    }
}

/// Why an ArcFace checkpoint, config or input cannot be used.
public enum ArcFaceError: Error, CustomStringConvertible, Equatable {
    /// The checkpoint's names or shapes are not those of an IR-SE backbone.
    case notRecognised(String)
    /// A config whose values cannot describe a network.
    case invalidConfig(String)
    /// Images of the wrong shape.
    case badInput(String)

    /// One line for users.
    public var description: String {
        switch self {
        case .notRecognised(let why): return "not an ArcFace IR-SE checkpoint: \(why)"
        case .invalidConfig(let why): return "invalid ArcFace config: \(why)"
        case .badInput(let why): return "ArcFace input: \(why)"
        }
    }
}
