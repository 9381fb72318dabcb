/// The constructor arguments of guided-diffusion's `UNetModel` that a checkpoint's tensor names and
/// shapes show (spec A.7): everything but the image size and the attention heads, which leave no
/// trace in the weights. ``UNetConfig/recognise(from:)`` needs the full configuration; this is what a
/// checkpoint of any configuration says about itself (`models inspect`).
public struct UNetArchitecture: Sendable, Equatable {
    public var modelChannels: Int
    public var inChannels: Int
    public var outChannels: Int
    public var numResBlocks: Int
    public var channelMult: [Int]
    /// Downsampling factors with attention (`attention_resolutions` as the model uses them: 1, 2, 4, ...).
    public var attentionResolutions: [Int]
    public var numClasses: Int?
    public var useScaleShiftNorm: Bool
    public var resblockUpdown: Bool

    /// Reads the arguments from `time_embed.0`, `input_blocks.{i}.{j}`, `output_blocks` and `out.2`; nil
    /// when the tensors are not a whole ADM U-Net.
    public init?(_ archive: any TensorArchive) {
        let names = archive.tensorNames
        /// The shape of `name` if it has `rank` extents in a range where arithmetic on them cannot overflow.
        func shape(_ name: String, rank: Int) -> [Int]? { ShapeRecognition.bounded(archive.shape(of: name), rank: rank) }
        func has(_ name: String) -> Bool { archive.shape(of: name) != nil }
        /// The distinct block numbers after `prefix` (`input_blocks.`), sorted.
        func indices(after prefix: String) -> [Int] {
            var found = Set<Int>()
            for name in names where name.hasPrefix(prefix) {
                if let component = name.dropFirst(prefix.count).split(separator: ".", maxSplits: 1).first, let value = Int(component) {
                    found.insert(value)
                }
            }
            return found.sorted()
        }
        guard shape("time_embed.0.weight", rank: 2) != nil, let first = shape("input_blocks.0.0.weight", rank: 4),
            let out = shape("out.2.weight", rank: 4)
        else { return nil }
        let channels = first[0]
        let inputs = indices(after: "input_blocks."), outputs = indices(after: "output_blocks.")
        // Block numbers come from the file: bound them before any arithmetic on them.
        guard let lastInput = inputs.last, let lastOutput = outputs.last, lastInput < 1 << 16, lastOutput < 1 << 16 else { return nil }
        // An output block ends a level (except the last) with an upsampling layer: a second ResBlock
        // (resblock_updown) or an `Upsample` conv, at child 1 or at child 2 after an attention block.
        var upsampling = 0
        var updownResBlocks = true
        for j in outputs {
            for child in [1, 2] {
                let prefix = "output_blocks.\(j).\(child)."
                if has(prefix + "in_layers.0.weight") {
                    upsampling += 1
                } else if has(prefix + "conv.weight") {
                    upsampling += 1
                    updownResBlocks = false
                }
            }
        }
        let levels = upsampling + 1
        let outputCount = lastOutput + 1
        guard outputCount % levels == 0 else { return nil }
        let resBlocks = outputCount / levels - 1
        guard resBlocks >= 1, lastInput + 1 == 1 + levels * resBlocks + (levels - 1), levels < 32 else { return nil }
        var mult: [Int] = []
        var attention: [Int] = []
        for level in 0..<levels {
            let start = 1 + level * (resBlocks + 1)
            guard let conv = shape("input_blocks.\(start).0.out_layers.3.weight", rank: 4) else { return nil }
            mult.append(conv[0] / channels)
            for r in 0..<resBlocks where has("input_blocks.\(start + r).1.qkv.weight") {
                attention.append(1 << level)
                break
            }
        }
        modelChannels = channels
        inChannels = first[1]
        outChannels = out[0]
        numResBlocks = resBlocks
        channelMult = mult
        attentionResolutions = attention
        numClasses = shape("label_emb.weight", rank: 2)?.first
        useScaleShiftNorm = shape("input_blocks.1.0.emb_layers.1.weight", rank: 2).map { $0[0] == 2 * channels * mult[0] } ?? false
        resblockUpdown = updownResBlocks
    }
}
