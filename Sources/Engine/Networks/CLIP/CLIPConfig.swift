import Foundation

/// Architecture of an OpenAI CLIP model (openai/CLIP `clip/model.py`).
public struct CLIPConfig: Sendable, Equatable {
    /// The image tower.
    public enum Vision: Sendable, Equatable {
        /// `VisionTransformer`: `heads` is `width / 64` in every released model.
        case transformer(width: Int, layers: Int, heads: Int, patchSize: Int)
        /// `ModifiedResNet` with attention pooling: bottleneck blocks per stage, stem width, pooling heads
        /// (`width · 32 / 64` in every released model).
        case resNet(layers: [Int], width: Int, heads: Int)
    }

    /// The text transformer.
    public struct Text: Sendable, Equatable {
        /// Token width (`transformer_width`).
        public var width: Int
        /// Residual attention blocks (`transformer_layers`).
        public var layers: Int
        /// Attention heads (`transformer_heads`).
        public var heads: Int
        /// Token positions (77 in every released model).
        public var contextLength: Int
        /// Rows of `token_embedding` (49408 for the BPE tokenizer).
        public var vocabSize: Int

        /// A text tower of the given shape.
        public init(width: Int, layers: Int, heads: Int, contextLength: Int, vocabSize: Int) {
            self.width = width
            self.layers = layers
            self.heads = heads
            self.contextLength = contextLength
            self.vocabSize = vocabSize
        }
    }

    /// Width of the joint embedding both towers project to.
    public var embedDim: Int
    /// Side of the square input image the image tower expects.
    public var imageResolution: Int
    /// The image tower.
    public var vision: Vision
    /// The text tower, or nil for an image-only checkpoint.
    public var text: Text?
    /// LayerNorm epsilon (PyTorch's default 1e-5 in CLIP).
    public var layerNormEps: Float = 1e-5
    /// BatchNorm epsilon of the ResNet tower (PyTorch's default 1e-5).
    public var batchNormEps: Float = 1e-5

    /// A config with the default epsilons.
    public init(embedDim: Int, imageResolution: Int, vision: Vision, text: Text?) {
        self.embedDim = embedDim
        self.imageResolution = imageResolution
        self.vision = vision
        self.text = text
    }

    /// Reads the architecture from a CLIP state dict's names and shapes, as upstream `build_model` does
    /// (ViT when `visual.proj` exists, else ModifiedResNet; heads = width/64 for the text tower and the
    /// ViT, stem width·32/64 for the ResNet's attention pooling). Pass `visionHeads`/`textHeads` for
    /// checkpoints that do not follow those rules.
    public static func recognise(_ weights: WeightStore, visionHeads: Int? = nil, textHeads: Int? = nil) throws -> CLIPConfig {
        let names = weights.archive.tensorNames.filter { weights.prefix.isEmpty || $0.hasPrefix(weights.prefix + ".") }
            .map { weights.prefix.isEmpty ? $0 : String($0.dropFirst(weights.prefix.count + 1)) }
        /// Every extent is bounded (`ShapeRecognition`): the shapes come from the file.
        func shape(_ name: String, rank: Int) throws -> [Int] { try weights.shape(name, rank: rank, orThrow: CLIPError.notRecognised) }
        /// Distinct values of the dotted component at `index` among names starting with `prefix`.
        func distinct(_ prefix: String, component index: Int) -> Int {
            Set(names.filter { $0.hasPrefix(prefix) }.compactMap { name -> Substring? in
                let parts = name.split(separator: ".")
                return parts.count > index ? parts[index] : nil
            }).count
        }
        /// The side of the square grid of a positional embedding's rows after the first (the class token).
        func gridSide(_ name: String) throws -> Int {
            let positions = try shape(name, rank: 2)
            guard let side = ShapeRecognition.squareSide(of: positions[0] - 1) else {
                throw CLIPError.notRecognised("\(weights.fullName(name)) has \(positions[0] - 1) rows after the class token, not a square grid")
            }
            return side
        }

        let vision: Vision
        let resolution: Int
        let embedDim: Int
        if weights.contains("visual.proj") {
            let conv = try shape("visual.conv1.weight", rank: 4)
            guard conv[1] == 3, conv[2] == conv[3] else { throw CLIPError.notRecognised("visual.conv1.weight has shape \(conv)") }
            let width = conv[0]
            let layers = names.filter { $0.hasPrefix("visual.") && $0.hasSuffix(".attn.in_proj_weight") }.count
            let grid = try gridSide("visual.positional_embedding")
            let heads = visionHeads ?? width / 64
            guard layers > 0, heads > 0, width % heads == 0 else { throw CLIPError.notRecognised("vision transformer of width \(width), \(layers) layers, \(heads) heads") }
            vision = .transformer(width: width, layers: layers, heads: heads, patchSize: conv[2])
            resolution = conv[2] * grid
            embedDim = try shape("visual.proj", rank: 2)[1]
        } else if weights.contains("visual.layer1.0.conv1.weight") {
            let stages = (1...4).map { distinct("visual.layer\($0).", component: 2) }
            guard stages.allSatisfy({ $0 > 0 }) else { throw CLIPError.notRecognised("ResNet stages hold \(stages) blocks") }
            let width = try shape("visual.layer1.0.conv1.weight", rank: 4)[0]
            let side = try gridSide("visual.attnpool.positional_embedding")
            let heads = visionHeads ?? width * 32 / 64
            guard heads > 0, (width * 32) % heads == 0 else { throw CLIPError.notRecognised("attention pool of width \(width * 32) cannot use \(heads) heads") }
            vision = .resNet(layers: stages, width: width, heads: heads)
            resolution = side * 32
            embedDim = try shape("visual.attnpool.c_proj.weight", rank: 2)[0]
        } else {
            throw CLIPError.notRecognised("neither visual.proj (ViT) nor visual.layer1.0.conv1.weight (ResNet) is present")
        }

        var text: Text?
        if weights.contains("token_embedding.weight") {
            let width = try shape("ln_final.weight", rank: 1)[0]
            let layers = distinct("transformer.resblocks.", component: 2)
            let heads = textHeads ?? width / 64
            guard layers > 0, heads > 0, width % heads == 0 else { throw CLIPError.notRecognised("text transformer of width \(width), \(layers) layers, \(heads) heads") }
            let projection = try shape("text_projection", rank: 2)
            guard projection == [width, embedDim] else { throw CLIPError.notRecognised("text_projection has shape \(projection), expected [\(width), \(embedDim)]") }
            text = Text(
                width: width, layers: layers, heads: heads, contextLength: try shape("positional_embedding", rank: 2)[0],
                vocabSize: try shape("token_embedding.weight", rank: 2)[0])
        }
        return CLIPConfig(embedDim: embedDim, imageResolution: resolution, vision: vision, text: text)
    }

    /// Builds the config from upstream `CLIP.__init__` arguments as JSON keys (`embed_dim`, `image_resolution`,
    /// `vision_layers` (an int for ViT, four ints for ResNet), `vision_width`, `vision_patch_size`,
    /// `context_length`, `vocab_size`, `transformer_width`, `transformer_heads`, `transformer_layers`),
    /// deriving the image tower's heads as `CLIP.__init__` does. Optional `layer_norm_eps`, `batch_norm_eps`.
    public init(modelConfig m: [String: Any]) throws {
        // Sizes from a file: bounded like the shapes recognise reads, so that nothing derived from them overflows.
        let sizes = 1...ShapeRecognition.maxExtent
        func int(_ key: String) throws -> Int {
            guard let v = m[key] as? Int else { throw CLIPError.invalidConfig("model config lacks integer \(key)") }
            guard sizes.contains(v) else { throw CLIPError.invalidConfig("\(key) is \(v), not in \(sizes)") }
            return v
        }
        let width = try int("vision_width")
        if let stages = m["vision_layers"] as? [Int] {
            guard stages.count == 4, stages.allSatisfy(sizes.contains) else {
                throw CLIPError.invalidConfig("vision_layers must be one int (ViT) or four (ResNet), each in \(sizes)")
            }
            vision = .resNet(layers: stages, width: width, heads: width * 32 / 64)
        } else {
            let heads = width / 64
            guard heads > 0, width % 64 == 0 else { throw CLIPError.invalidConfig("vision_width \(width) is not a multiple of 64") }
            vision = .transformer(width: width, layers: try int("vision_layers"), heads: heads, patchSize: try int("vision_patch_size"))
        }
        embedDim = try int("embed_dim")
        imageResolution = try int("image_resolution")
        text = Text(
            width: try int("transformer_width"), layers: try int("transformer_layers"), heads: try int("transformer_heads"),
            contextLength: try int("context_length"), vocabSize: try int("vocab_size"))
        if let eps = m["layer_norm_eps"] as? Double { layerNormEps = Float(eps) }
        if let eps = m["batch_norm_eps"] as? Double { batchNormEps = Float(eps) }
    }

    /// The config for the checkpoint at `path`: the `model_config` JSON `<stem>.json` beside it when present,
    /// else what the tensor shapes say (`recognise`).
    public static func resolve(checkpointPath path: String, weights: WeightStore) throws -> CLIPConfig {
        let json = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("json")
        guard FileManager.default.fileExists(atPath: json.path) else { return try recognise(weights) }
        // A regular file only: a FIFO named like the config would block the read forever.
        guard let bytes = try? MappedFile.contents(of: json.path), let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw CLIPError.invalidConfig("\(json.path) is not a JSON object")
        }
        return try CLIPConfig(modelConfig: object)
    }

    /// The upstream model name for a released architecture ("ViT-B/32", "RN50x16"), else a description.
    public var name: String {
        switch vision {
        case .transformer(let width, let layers, _, let patch):
            let family = [768: "B", 1024: "L"][width] ?? "W\(width)x\(layers)"
            return "ViT-\(family)/\(patch)" + (imageResolution == 336 ? "@336px" : "")
        case .resNet(let layers, let width, _):
            let known: [String: String] = [
                "[3, 4, 6, 3]/64": "RN50", "[3, 4, 23, 3]/64": "RN101", "[4, 6, 10, 6]/80": "RN50x4",
                "[6, 8, 18, 8]/96": "RN50x16", "[3, 15, 36, 10]/128": "RN50x64",
            ]
            return known["\(layers)/\(width)"] ?? "ModifiedResNet(\(layers), width \(width))"
        }
    }
}

/// Why a CLIP checkpoint or input cannot be used.
public enum CLIPError: Error, CustomStringConvertible, Equatable {
    /// The checkpoint's names or shapes are not those of a CLIP model.
    case notRecognised(String)
    /// A model config (JSON) is incomplete or inconsistent.
    case invalidConfig(String)
    /// Images or token rows of the wrong shape or range.
    case badInput(String)
    /// `encodeText` on an image-only checkpoint.
    case noTextTower

    /// One line for users.
    public var description: String {
        switch self {
        case .notRecognised(let why): return "not a CLIP checkpoint: \(why)"
        case .invalidConfig(let why): return "invalid CLIP config: \(why)"
        case .badInput(let why): return "CLIP input: \(why)"
        case .noTextTower: return "this CLIP checkpoint has no text tower (no token_embedding.weight)"
        }
    }
}
