/// An OpenAI CLIP model (openai/CLIP `clip/model.py`): the ViT or ModifiedResNet image tower and the text
/// transformer, inference semantics. `encodeImage` is differentiable w.r.t. the image; outputs are not
/// L2-normalised (as upstream's `encode_image` / `encode_text`).
///
/// Weights come from the checkpoint's own names: OpenAI's TorchScript archives, plain state-dict `.pt`
/// files (e.g. open_clip's `open_clip_pytorch_model.bin`) and `.safetensors` files with the same names.
/// Every floating-point dtype is upcast to float32 (OpenAI's files mix float16 and float32).
public final class CLIPModel: @unchecked Sendable {
    /// The architecture the weights were loaded for.
    public let config: CLIPConfig
    enum ImageTower {
        case transformer(CLIPVisionTransformer)
        case resNet(CLIPModifiedResNet)
    }
    let imageTower: ImageTower
    let textTower: CLIPTextTransformer?

    /// Loads a model from state-dict names; `config` defaults to what the shapes say (`CLIPConfig.recognise`).
    public init(weights: WeightStore, config: CLIPConfig? = nil) throws {
        let c = try config ?? CLIPConfig.recognise(weights)
        self.config = c
        let visual = weights.scoped("visual")
        switch c.vision {
        case .transformer(let width, let layers, let heads, let patch):
            guard c.imageResolution % patch == 0 else { throw CLIPError.notRecognised("resolution \(c.imageResolution) is not a multiple of patch \(patch)") }
            imageTower = .transformer(try CLIPVisionTransformer(
                visual, width: width, layers: layers, heads: heads, patchSize: patch, resolution: c.imageResolution,
                embedDim: c.embedDim, eps: c.layerNormEps))
        case .resNet(let layers, let width, let heads):
            guard layers.count == 4, c.imageResolution % 32 == 0 else { throw CLIPError.notRecognised("ModifiedResNet needs 4 stages and a resolution divisible by 32") }
            imageTower = .resNet(try CLIPModifiedResNet(
                visual, layers: layers, width: width, heads: heads, resolution: c.imageResolution, embedDim: c.embedDim,
                bnEps: c.batchNormEps))
        }
        textTower = try c.text.map { try CLIPTextTransformer(weights, config: $0, embedDim: c.embedDim, eps: c.layerNormEps) }
    }

    /// Opens a checkpoint file (TorchScript archive, torch.save zip or safetensors) and loads it; the config
    /// defaults to `CLIPConfig.resolve` (a `<stem>.json` model config beside the file, else the shapes).
    public convenience init(contentsOf path: String, config: CLIPConfig? = nil) throws {
        let weights = WeightStore(try Checkpoint.open(path))
        try self.init(weights: weights, config: config ?? CLIPConfig.resolve(checkpointPath: path, weights: weights))
    }

    /// Side of the square images `encodeImage` takes.
    public var inputResolution: Int { config.imageResolution }

    /// `[B, 3, R, R]` CLIP-normalised images → `[B, embedDim]` image features.
    public func encodeImage(_ image: Variable) throws -> Variable {
        try encodeImage(image, stageOutputs: nil)
    }

    func encodeImage(_ image: Variable, stageOutputs: ((Variable) -> Void)?) throws -> Variable {
        let r = config.imageResolution
        guard image.rank == 4, image.shape[0] > 0, Array(image.shape[1...]) == [3, r, r] else {
            throw CLIPError.badInput("images must be [B, 3, \(r), \(r)], got \(image.shape)")
        }
        switch imageTower {
        case .transformer(let tower): return tower(image)
        case .resNet(let tower): return tower(image, stageOutputs: stageOutputs)
        }
    }

    /// Token rows (`CLIPTokenizer.tokenize`, `contextLength` ids each) → `[B, embedDim]` text features.
    public func encodeText(_ tokens: [[Int32]]) throws -> Tensor {
        guard let textTower else { throw CLIPError.noTextTower }
        return try textTower.encode(tokens)
    }

    /// Forward multiply-accumulates of `encodeImage` for one image, for benchmark figures.
    public var imageForwardMACs: Int {
        switch imageTower {
        case .transformer(let tower): return tower.forwardMACs
        case .resNet(let tower): return tower.forwardMACs
        }
    }
}
