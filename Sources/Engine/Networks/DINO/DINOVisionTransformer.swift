import Foundation

/// Architecture of a DINO ViT backbone (facebookresearch/dino `VisionTransformer`, no head).
public struct DINOConfig: Sendable, Equatable {
    /// Token width D.
    public var embedDim: Int
    /// Number of blocks.
    public var depth: Int
    /// Attention heads.
    public var heads: Int
    /// Patch side p (the patch-embedding convolution's kernel and stride).
    public var patchSize: Int
    /// MLP hidden width (4·D for every released model).
    public var mlpHiddenDim: Int
    /// Side of the square patch grid `pos_embed` was trained for (28 for ViT-x/8, 14 for ViT-x/16 at 224).
    public var trainedGridSize: Int
    /// LayerNorm epsilon (1e-6 in every released model).
    public var layerNormEps: Float

    /// A config from explicit values.
    public init(embedDim: Int, depth: Int, heads: Int, patchSize: Int, mlpHiddenDim: Int, trainedGridSize: Int, layerNormEps: Float = 1e-6) {
        self.embedDim = embedDim
        self.depth = depth
        self.heads = heads
        self.patchSize = patchSize
        self.mlpHiddenDim = mlpHiddenDim
        self.trainedGridSize = trainedGridSize
        self.layerNormEps = layerNormEps
    }

    /// Reads the architecture from a backbone state dict's tensor shapes (as `*_pretrain.pth` holds it).
    /// The head count is not visible in the shapes: every released model uses 64-wide heads, which is the
    /// default; pass `heads` for other checkpoints.
    public static func recognise(_ weights: WeightStore, heads: Int? = nil) throws -> DINOConfig {
        // Every extent is bounded (`ShapeRecognition`): the shapes come from the file.
        let patch = try weights.shape("patch_embed.proj.weight", rank: 4, orThrow: DINOError.notRecognised)
        guard patch[1] == 3, patch[2] == patch[3] else {
            throw DINOError.notRecognised("patch_embed.proj.weight has shape \(patch), expected [D, 3, p, p]")
        }
        let (d, p) = (patch[0], patch[2])
        let pos = try weights.shape("pos_embed", rank: 3, orThrow: DINOError.notRecognised)
        guard pos[0] == 1, pos[2] == d else { throw DINOError.notRecognised("pos_embed has shape \(pos), expected [1, N+1, \(d)]") }
        guard let grid = ShapeRecognition.squareSide(of: pos[1] - 1) else {
            throw DINOError.notRecognised("pos_embed holds \(pos[1] - 1) patch positions, not a square grid")
        }
        var depth = 0
        while weights.contains("blocks.\(depth).attn.qkv.weight") { depth += 1 }
        guard depth > 0 else { throw DINOError.notRecognised("no blocks.0.attn.qkv.weight") }
        let fc1 = try weights.shape("blocks.0.mlp.fc1.weight", rank: 2, orThrow: DINOError.notRecognised)
        let h = heads ?? d / 64
        guard h > 0, d % h == 0 else { throw DINOError.notRecognised("width \(d) cannot be split into \(h) heads") }
        return DINOConfig(embedDim: d, depth: depth, heads: h, patchSize: p, mlpHiddenDim: fc1[0], trainedGridSize: grid)
    }

    /// Builds the config from upstream `VisionTransformer` arguments as JSON keys: `img_size` (trained input side,
    /// an int or a one-element list), `patch_size`, `embed_dim`, `depth`, `num_heads`, `mlp_ratio`; optional
    /// `qkv_bias` (must be true) and `layer_norm_eps` (default 1e-6, as `vit_small`/`vit_base`).
    public init(modelConfig m: [String: Any]) throws {
        // Sizes from a file: bounded like the shapes recognise reads, so that nothing derived from them overflows.
        let sizes = 1...ShapeRecognition.maxExtent
        func int(_ key: String) throws -> Int {
            guard let v = m[key] as? Int else { throw DINOError.invalidConfig("model config lacks integer \(key)") }
            guard sizes.contains(v) else { throw DINOError.invalidConfig("\(key) is \(v), not in \(sizes)") }
            return v
        }
        guard let size = (m["img_size"] as? Int) ?? (m["img_size"] as? [Int])?.first, sizes.contains(size) else {
            throw DINOError.invalidConfig("model config lacks an img_size in \(sizes)")
        }
        if let bias = m["qkv_bias"] as? Bool, !bias { throw DINOError.invalidConfig("qkv_bias=false is not supported") }
        let (d, p, heads) = (try int("embed_dim"), try int("patch_size"), try int("num_heads"))
        guard p > 0, size % p == 0, heads > 0, d % heads == 0 else { throw DINOError.invalidConfig("img_size \(size), patch \(p), width \(d), heads \(heads) do not fit") }
        guard let ratio = (m["mlp_ratio"] as? Double) ?? (m["mlp_ratio"] as? Int).map(Double.init) else { throw DINOError.invalidConfig("model config lacks mlp_ratio") }
        // Checked before the conversion to Int, which traps on NaN and on values beyond Int.
        guard ratio > 0, Double(d) * ratio <= Double(ShapeRecognition.maxExtent) else {
            throw DINOError.invalidConfig("mlp_ratio \(ratio) of width \(d) is not a hidden width in \(sizes)")
        }
        self.init(
            embedDim: d, depth: try int("depth"), heads: heads, patchSize: p, mlpHiddenDim: Int(Double(d) * ratio),
            trainedGridSize: size / p, layerNormEps: (m["layer_norm_eps"] as? Double).map { Float($0) } ?? 1e-6)
    }

    /// The config for the checkpoint at `path`: the `model_config` JSON `<stem>.json` beside it when present,
    /// else what the tensor shapes say (`recognise`).
    public static func resolve(checkpointPath path: String, weights: WeightStore) throws -> DINOConfig {
        let json = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("json")
        guard FileManager.default.fileExists(atPath: json.path) else { return try recognise(weights) }
        // A regular file only: a FIFO named like the config would block the read forever.
        guard let bytes = try? MappedFile.contents(of: json.path), let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw DINOError.invalidConfig("\(json.path) is not a JSON object")
        }
        return try DINOConfig(modelConfig: object)
    }

    /// The hub name of a released architecture ("ViT-B/8"), or a description of another one.
    public var name: String {
        let family = [384: "S", 768: "B"][embedDim].map { "ViT-\($0)" } ?? "ViT(D=\(embedDim))"
        return "\(family)/\(patchSize) (\(depth) blocks, \(heads) heads)"
    }
}

/// Why a DINO checkpoint cannot be used.
public enum DINOError: Error, CustomStringConvertible, Equatable {
    /// The checkpoint's names or shapes are not those of a DINO ViT backbone.
    case notRecognised(String)
    /// A model config (JSON) is incomplete or inconsistent.
    case invalidConfig(String)
    /// An image or tap request the model cannot take.
    case badInput(String)

    /// One line for users.
    public var description: String {
        switch self {
        case .notRecognised(let why): return "not a DINO ViT backbone checkpoint: \(why)"
        case .invalidConfig(let why): return "invalid DINO config: \(why)"
        case .badInput(let why): return "DINO ViT input: \(why)"
        }
    }
}

/// What one forward pass of the DINO ViT exposes, all differentiable w.r.t. the image.
public struct DINOFeatures {
    /// Output of the chosen block's `attn.qkv` Linear (bias included), `[B, N, 3D]`.
    public let qkv: Variable
    /// Keys of the chosen block: the middle third of `qkv`, heads concatenated, CLS row included, `[B, N, D]`
    /// (Splice/DiffuseIT `get_keys_from_qkv` after their transpose and reshape).
    public let keys: Variable
    /// Residual stream after the last block, before the final norm, `[B, N, D]`.
    public let lastBlockOutput: Variable
    /// Token 0 of `lastBlockOutput`, `[B, D]`: DiffuseIT's "CLS token of the last layer".
    public let lastBlockCLS: Variable
    /// The final LayerNorm of every token, `[B, N, D]` (`get_intermediate_layers(x, 1)[0]`).
    public let normedTokens: Variable
    /// Token 0 of `normedTokens`, `[B, D]`: the hub model's output.
    public let normedCLS: Variable
}

/// DINO's ViT backbone (facebookresearch/dino `vision_transformer.py`), inference semantics.
///
/// Input `[B, 3, H, W]` (already ImageNet-normalised) with H, W multiples of the patch size. Inputs whose
/// patch grid differs from the trained one get the positional embedding resampled bicubically exactly as
/// upstream's `interpolate_pos_encoding`, including its +0.1 scale-factor quirk.
public final class DINOVisionTransformer: @unchecked Sendable {
    /// The architecture the weights were loaded for.
    public let config: DINOConfig
    let clsToken: Tensor, posEmbed: Tensor
    let patchEmbed: Conv2d
    let blocks: [PreNormTransformerBlock]
    let norm: LayerNorm

    /// Loads the backbone from state-dict names (`cls_token`, `pos_embed`, `patch_embed.proj.*`,
    /// `blocks.i.*`, `norm.*`); `config` defaults to what the shapes say (`DINOConfig.recognise`).
    public init(weights: WeightStore, config: DINOConfig? = nil) throws {
        let c = try config ?? DINOConfig.recognise(weights)
        self.config = c
        let d = c.embedDim
        clsToken = try weights.tensor("cls_token", shape: [1, 1, d])
        posEmbed = try weights.tensor("pos_embed", shape: [1, c.trainedGridSize * c.trainedGridSize + 1, d])
        patchEmbed = try Conv2d(weights.scoped("patch_embed.proj"), inChannels: 3, outChannels: d, kernel: c.patchSize, stride: c.patchSize)
        blocks = try (0..<c.depth).map { i in
            try PreNormTransformerBlock(
                weights.scoped("blocks.\(i)"), names: .dino, width: d, hidden: c.mlpHiddenDim, heads: c.heads,
                eps: c.layerNormEps, activation: .gelu)
        }
        norm = try LayerNorm(weights.scoped("norm"), width: d, eps: c.layerNormEps)
    }

    /// Opens a checkpoint file (DINO's `*_pretrain.pth`, a torch.save zip, or safetensors) and loads it; the
    /// config defaults to `DINOConfig.resolve` (a `<stem>.json` model config beside the file, else the shapes).
    public convenience init(contentsOf path: String, config: DINOConfig? = nil) throws {
        let weights = WeightStore(try Checkpoint.open(path))
        try self.init(weights: weights, config: config ?? DINOConfig.resolve(checkpointPath: path, weights: weights))
    }

    /// The positional embedding `[1, 1 + (H/p)(W/p), D]` for an `H × W` input (upstream
    /// `interpolate_pos_encoding`): unchanged when the grid matches the trained one and the image is square,
    /// else the patch rows resampled bicubically with `scale_factor = (H/p + 0.1)/g, (W/p + 0.1)/g`.
    public func positionEmbedding(height: Int, width: Int) -> Tensor {
        let (p, g, d) = (config.patchSize, config.trainedGridSize, config.embedDim)
        let (gh, gw) = (height / p, width / p)
        if gh * gw == g * g && height == width { return posEmbed }
        let patchRows = posEmbed.reshaped([1, g * g + 1, d])
        let grid = Ops.permuteTensor(Ops.sliceTensor(patchRows, axis: 1, 1..<(g * g + 1)).reshaped([1, g, g, d]), [0, 3, 1, 2])
        let scale = ((Double(gh) + 0.1) / Double(g), (Double(gw) + 0.1) / Double(g))
        // PyTorch sizes the output as floor(in·scale); the +0.1 exists only to keep that floor at H/p.
        precondition(Int((Double(g) * scale.0).rounded(.down)) == gh && Int((Double(g) * scale.1).rounded(.down)) == gw)
        let resized = Resample.bicubic(grid, outHeight: gh, outWidth: gw, scaleFactor: (scale.0, scale.1))
        let tokens = Ops.permuteTensor(resized, [0, 2, 3, 1]).reshaped([1, gh * gw, d])
        let cls = Ops.sliceTensor(patchRows, axis: 1, 0..<1)
        return Ops.concat([Variable(cls), Variable(tokens)], axis: 1).value
    }

    /// Patch embedding, CLS token and positional embedding (upstream `prepare_tokens`): `[B, N, D]`.
    public func prepareTokens(_ image: Variable) throws -> Variable {
        guard image.rank == 4, image.shape[1] == 3 else { throw DINOError.badInput("expected [B, 3, H, W], got \(image.shape)") }
        let (batch, h, w, p, d) = (image.shape[0], image.shape[2], image.shape[3], config.patchSize, config.embedDim)
        guard h >= p, w >= p else { throw DINOError.badInput("\(h)x\(w) is smaller than one \(p)x\(p) patch") }
        let patches = patchEmbed(image)
        let n = patches.shape[2] * patches.shape[3]
        let tokens = Ops.transpose(Ops.reshape(patches, [batch, d, n]), 1, 2)
        let cls = Ops.broadcastBinary(clsToken, Tensor.zeros([batch, 1, d])) { $0 + $1 }
        let withCLS = Ops.concat([Variable(cls), tokens], axis: 1)
        return withCLS + Variable(positionEmbedding(height: h, width: w))
    }

    /// One forward pass with every tap DiffuseIT needs. `keysBlock` selects the block whose qkv/keys are
    /// tapped (default: the last, as in every DiffuseIT loss).
    public func features(_ image: Variable, keysBlock: Int? = nil) throws -> DINOFeatures {
        let tapped = keysBlock ?? config.depth - 1
        guard (0..<config.depth).contains(tapped) else { throw DINOError.badInput("keys block \(tapped) outside 0..<\(config.depth)") }
        var x = try prepareTokens(image)
        var qkv: Variable?
        for (i, block) in blocks.enumerated() {
            let (out, blockQKV) = block(x)
            if i == tapped { qkv = blockQKV }
            x = out
        }
        let d = config.embedDim
        let batch = x.shape[0]
        let normed = norm(x)
        return DINOFeatures(
            qkv: qkv!,
            keys: Ops.slice(qkv!, axis: 2, d..<(2 * d)),
            lastBlockOutput: x,
            lastBlockCLS: Ops.reshape(Ops.slice(x, axis: 1, 0..<1), [batch, d]),
            normedTokens: normed,
            normedCLS: Ops.reshape(Ops.slice(normed, axis: 1, 0..<1), [batch, d]))
    }

    /// Forward multiply-accumulates for an `H × W` input, for benchmark figures.
    public func forwardMACs(height: Int, width: Int) -> Int {
        let (p, d) = (config.patchSize, config.embedDim)
        let n = (height / p) * (width / p)
        return n * d * 3 * p * p + config.depth * PreNormTransformerBlock.forwardMACs(tokens: n + 1, width: d, hidden: config.mlpHiddenDim)
    }
}

/// DINO's input preprocessing: ImageNet normalisation (`Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))`).
public enum DINOPreprocessing {
    /// ImageNet channel means.
    public static let mean: [Float] = [0.485, 0.456, 0.406]
    /// ImageNet channel standard deviations.
    public static let std: [Float] = [0.229, 0.224, 0.225]

    /// `(x − mean[c]) / std[c]` on `[B, 3, H, W]` images in [0, 1], differentiable.
    public static func normalize(_ image: Variable) -> Variable {
        Ops.normalizeChannels(image, mean: mean, std: std)
    }

    /// Splice/DiffuseIT `global_transform` for images in [0, 1]: torchvision tensor `Resize(shorterSide,
    /// max_size: maxSize)` (bilinear, no antialias; 224 and 480 upstream), then `normalize`. Differentiable.
    public static func prepare(_ image: Variable, shorterSide: Int = 224, maxSize: Int? = 480) -> Variable {
        normalize(ImagePreprocessing.resizeShorterSide(image, to: shorterSide, maxSize: maxSize))
    }
}
