import Foundation

/// Constructor arguments of guided-diffusion's `UNetModel`, with the same JSON keys as its
/// `model_config` (so a `model.json` next to a checkpoint describes it).
///
/// `attentionResolutions` holds downsampling factors (`ds`), as `UNetModel` receives them
/// (`script_util` turns "32,16,8" into `image_size / r`).
///
/// Property names mirror the upstream arguments (`image_size` → `imageSize`, ...); `useFP16` and
/// `useCheckpoint` are accepted but the engine always computes in float32 (`useCheckpoint`
/// selects `UNetModel.Recompute.all`).
public struct UNetConfig: Codable, Sendable, Equatable {
    public var imageSize: Int
    public var inChannels: Int
    public var modelChannels: Int
    public var outChannels: Int
    public var numResBlocks: Int
    public var attentionResolutions: [Int]
    public var dropout: Double
    public var channelMult: [Int]
    public var numClasses: Int?
    public var useCheckpoint: Bool
    public var useFP16: Bool
    public var numHeads: Int
    public var numHeadChannels: Int
    public var numHeadsUpsample: Int
    public var useScaleShiftNorm: Bool
    public var resblockUpdown: Bool
    public var useNewAttentionOrder: Bool
    /// Whether non-ResBlock up/downsampling uses a convolution (upstream default true; not in `model_config`).
    public var convResample: Bool

    enum CodingKeys: String, CodingKey {
        case imageSize = "image_size", inChannels = "in_channels", modelChannels = "model_channels"
        case outChannels = "out_channels", numResBlocks = "num_res_blocks"
        case attentionResolutions = "attention_resolutions", dropout, channelMult = "channel_mult"
        case numClasses = "num_classes", useCheckpoint = "use_checkpoint", useFP16 = "use_fp16"
        case numHeads = "num_heads", numHeadChannels = "num_head_channels", numHeadsUpsample = "num_heads_upsample"
        case useScaleShiftNorm = "use_scale_shift_norm", resblockUpdown = "resblock_updown"
        case useNewAttentionOrder = "use_new_attention_order", convResample = "conv_resample"
        case learnSigma = "learn_sigma"
    }

    public init(
        imageSize: Int, inChannels: Int = 3, modelChannels: Int, outChannels: Int, numResBlocks: Int,
        attentionResolutions: [Int], dropout: Double = 0, channelMult: [Int], numClasses: Int? = nil,
        useCheckpoint: Bool = false, useFP16: Bool = false, numHeads: Int = 1, numHeadChannels: Int = -1,
        numHeadsUpsample: Int = -1, useScaleShiftNorm: Bool = false, resblockUpdown: Bool = false,
        useNewAttentionOrder: Bool = false, convResample: Bool = true
    ) {
        self.imageSize = imageSize
        self.inChannels = inChannels
        self.modelChannels = modelChannels
        self.outChannels = outChannels
        self.numResBlocks = numResBlocks
        self.attentionResolutions = attentionResolutions
        self.dropout = dropout
        self.channelMult = channelMult
        self.numClasses = numClasses
        self.useCheckpoint = useCheckpoint
        self.useFP16 = useFP16
        self.numHeads = numHeads
        self.numHeadChannels = numHeadChannels
        self.numHeadsUpsample = numHeadsUpsample
        self.useScaleShiftNorm = useScaleShiftNorm
        self.resblockUpdown = resblockUpdown
        self.useNewAttentionOrder = useNewAttentionOrder
        self.convResample = convResample
    }

    /// Missing keys take `UNetModel`'s defaults; `out_channels` may instead come from `learn_sigma`
    /// (`in_channels * 2` when true), as in `script_util.create_model`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        inChannels = try c.decodeIfPresent(Int.self, forKey: .inChannels) ?? 3
        modelChannels = try c.decode(Int.self, forKey: .modelChannels)
        if let out = try c.decodeIfPresent(Int.self, forKey: .outChannels) {
            outChannels = out
        } else if let learnSigma = try c.decodeIfPresent(Bool.self, forKey: .learnSigma) {
            outChannels = learnSigma ? 2 * inChannels : inChannels
        } else {
            throw DecodingError.keyNotFound(CodingKeys.outChannels, .init(codingPath: c.codingPath, debugDescription: "model config needs out_channels or learn_sigma"))
        }
        numResBlocks = try c.decode(Int.self, forKey: .numResBlocks)
        attentionResolutions = try c.decode([Int].self, forKey: .attentionResolutions)
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout) ?? 0
        channelMult = try c.decode([Int].self, forKey: .channelMult)
        numClasses = try c.decodeIfPresent(Int.self, forKey: .numClasses)
        useCheckpoint = try c.decodeIfPresent(Bool.self, forKey: .useCheckpoint) ?? false
        useFP16 = try c.decodeIfPresent(Bool.self, forKey: .useFP16) ?? false
        numHeads = try c.decodeIfPresent(Int.self, forKey: .numHeads) ?? 1
        numHeadChannels = try c.decodeIfPresent(Int.self, forKey: .numHeadChannels) ?? -1
        numHeadsUpsample = try c.decodeIfPresent(Int.self, forKey: .numHeadsUpsample) ?? -1
        useScaleShiftNorm = try c.decodeIfPresent(Bool.self, forKey: .useScaleShiftNorm) ?? false
        resblockUpdown = try c.decodeIfPresent(Bool.self, forKey: .resblockUpdown) ?? false
        useNewAttentionOrder = try c.decodeIfPresent(Bool.self, forKey: .useNewAttentionOrder) ?? false
        convResample = try c.decodeIfPresent(Bool.self, forKey: .convResample) ?? true
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(imageSize, forKey: .imageSize)
        try c.encode(inChannels, forKey: .inChannels)
        try c.encode(modelChannels, forKey: .modelChannels)
        try c.encode(outChannels, forKey: .outChannels)
        try c.encode(numResBlocks, forKey: .numResBlocks)
        try c.encode(attentionResolutions, forKey: .attentionResolutions)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(channelMult, forKey: .channelMult)
        try c.encode(numClasses, forKey: .numClasses)
        try c.encode(useCheckpoint, forKey: .useCheckpoint)
        try c.encode(useFP16, forKey: .useFP16)
        try c.encode(numHeads, forKey: .numHeads)
        try c.encode(numHeadChannels, forKey: .numHeadChannels)
        try c.encode(numHeadsUpsample, forKey: .numHeadsUpsample)
        try c.encode(useScaleShiftNorm, forKey: .useScaleShiftNorm)
        try c.encode(resblockUpdown, forKey: .resblockUpdown)
        try c.encode(useNewAttentionOrder, forKey: .useNewAttentionOrder)
        try c.encode(convResample, forKey: .convResample)
    }

    /// `256x256_diffusion_uncond.pt` (ImageNet 256, unconditional), as DiffuseIT runs it.
    public static let imageNet256Unconditional = UNetConfig(
        imageSize: 256, modelChannels: 256, outChannels: 6, numResBlocks: 2, attentionResolutions: [8, 16, 32],
        channelMult: [1, 1, 2, 2, 4, 4], numHeads: 4, numHeadChannels: 64, useScaleShiftNorm: true,
        resblockUpdown: true)

    /// DiffuseIT's FFHQ model (`ffhq_10m.pt`, from ILVR).
    public static let ffhq256 = UNetConfig(
        imageSize: 256, modelChannels: 128, outChannels: 6, numResBlocks: 1, attentionResolutions: [16],
        channelMult: [1, 1, 2, 2, 4, 4], numHeads: 4, numHeadChannels: 64, useScaleShiftNorm: true,
        resblockUpdown: true)

    /// The built-in configurations `recognise(from:)` knows.
    public static let builtIn: [UNetConfig] = [.imageNet256Unconditional, .ffhq256]

    /// The built-in configuration whose parameter names and shapes equal the checkpoint's exactly,
    /// or nil when none does (then the config must come from a JSON file).
    public static func recognise(from archive: any TensorArchive) -> UNetConfig? {
        var found: [String: [Int]] = [:]
        for name in archive.tensorNames {
            guard let shape = archive.shape(of: name) else { return nil }
            found[name] = shape
        }
        return builtIn.first { config in
            let expected = config.parameterShapes()
            return expected.count == found.count && expected.allSatisfy { found[$0.name] == $0.shape }
        }
    }

    /// Reads a config from a JSON file with `model_config`'s keys.
    public static func load(json url: URL) throws -> UNetConfig {
        let data: Data
        do { data = Data(try MappedFile.contents(of: url.path)) } catch let error as CheckpointError {
            guard case .unreadable(_, let reason) = error else { throw error }
            throw UNetError.invalidConfig("cannot read \(url.path): \(reason)")
        }
        do { return try JSONDecoder().decode(UNetConfig.self, from: data) } catch {
            throw UNetError.invalidConfig("\(url.path) is not a U-Net model config: \(error)")
        }
    }

    /// The config for the checkpoint at `path`: `<stem>.json` beside it when present, otherwise a
    /// built-in recognised from the tensor shapes.
    public static func resolve(checkpointPath path: String, archive: any TensorArchive) throws -> UNetConfig {
        let json = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("json")
        if FileManager.default.fileExists(atPath: json.path) { return try load(json: json) }
        if let config = recognise(from: archive) { return config }
        throw UNetError.invalidConfig(
            "\(path) matches no built-in U-Net (ImageNet 256 uncond, FFHQ 256); put its model_config in \(json.lastPathComponent)")
    }

    /// Upper bounds on what a config (often a JSON file beside a checkpoint) may say, far above any real U-Net, so
    /// that no size derived from them can overflow.
    static let maxChannels = 1 << 14, maxMult = 64, maxLevels = 16, maxResBlocks = 64, maxImageSize = 1 << 14

    /// Checks the arguments this engine can build; throws a one-line reason otherwise.
    func validate() throws {
        if numClasses != nil { throw UNetError.invalidConfig("class-conditional U-Nets (num_classes) are not supported") }
        guard !channelMult.isEmpty, modelChannels > 0, numResBlocks >= 0, inChannels > 0, outChannels > 0 else {
            throw UNetError.invalidConfig("model_channels, channel_mult, num_res_blocks, in/out_channels must be positive")
        }
        let channels = 1...Self.maxChannels
        guard channels.contains(modelChannels), channels.contains(inChannels), channels.contains(outChannels),
            channelMult.count <= Self.maxLevels, channelMult.allSatisfy((1...Self.maxMult).contains), numResBlocks <= Self.maxResBlocks,
            (1...Self.maxImageSize).contains(imageSize), attentionResolutions.allSatisfy((1...Self.maxImageSize).contains),
            numHeads <= Self.maxChannels, numHeadChannels <= Self.maxChannels, numHeadsUpsample <= Self.maxChannels
        else {
            throw UNetError.invalidConfig(
                "sizes beyond what this engine builds (channels and image size up to \(Self.maxChannels), \(Self.maxLevels) levels, multipliers up to \(Self.maxMult), \(Self.maxResBlocks) res blocks)")
        }
        if numHeadChannels == -1 && numHeads <= 0 { throw UNetError.invalidConfig("num_heads must be positive when num_head_channels is -1") }
        guard numHeadChannels == -1 || numHeadChannels > 0, numHeadsUpsample == -1 || numHeadsUpsample > 0 else {
            throw UNetError.invalidConfig("num_head_channels and num_heads_upsample must be positive or -1")
        }
        for mult in channelMult where (mult * modelChannels) % 32 != 0 {
            throw UNetError.invalidConfig("channel count \(mult * modelChannels) is not divisible by GroupNorm's 32 groups")
        }
        // Every attention block must split its channels evenly into heads: checked here, not at the first forward pass.
        let plan = UNetPlan(self)
        for case .attention(let prefix, let channels, let heads) in (plan.inputBlocks + [plan.middleBlock] + plan.outputBlocks).joined()
        where heads < 1 || channels % heads != 0 {
            throw UNetError.invalidConfig("attention block \(prefix) cannot split \(channels) channels into \(heads) heads")
        }
    }
}

/// Why a U-Net could not be built.
public enum UNetError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)

    public var description: String {
        switch self {
        case .invalidConfig(let reason): return "invalid U-Net configuration: \(reason)"
        }
    }
}
