import Engine

/// A DINO Vision Transformer backbone (facebookresearch/dino `VisionTransformer`), read by the Engine
/// (``DINOConfig/recognise(_:heads:)``).
struct DINOShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ archive: any TensorArchive) -> RecognisedArchitecture? {
        // Heads leave no trace in the shapes and are not shown: any divisor of the width reads the rest.
        guard archive.shape(of: "cls_token") != nil, let c = try? DINOConfig.recognise(WeightStore(archive), heads: 1), c.embedDim > 0 else {
            return nil
        }
        let imageSize = c.trainedGridSize * c.patchSize
        let config: [(name: String, value: ConfigValue)] = [
            ("embed_dim", .int(c.embedDim)),
            ("depth", .int(c.depth)),
            ("patch_size", .int(c.patchSize)),
            ("img_size", .ints([imageSize])),
            ("mlp_ratio", .int(c.mlpHiddenDim / c.embedDim)),
            ("qkv_bias", .bool(archive.shape(of: "blocks.0.attn.qkv.bias") != nil)),
        ]
        let known: (String, String)?
        switch (c.embedDim, c.patchSize, c.depth, imageSize) {
        case (384, 16, 12, 224): known = ("ViT-S/16", "dino-vits16")
        case (384, 8, 12, 224): known = ("ViT-S/8", "dino-vits8")
        case (768, 16, 12, 224): known = ("ViT-B/16", "dino-vitb16")
        case (768, 8, 12, 224): known = ("ViT-B/8", "dino-vitb8")
        default: known = nil
        }
        return RecognisedArchitecture(family: "DINO ViT", variant: known?.0, identifier: known?.1 ?? "dino-vit", config: config)
    }
}
