/// A DINO Vision Transformer backbone (facebookresearch/dino `VisionTransformer`, spec C.4):
/// `cls_token`, `pos_embed`, `patch_embed.proj`, `blocks.{i}`, `norm`.
struct DINOShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ t: TensorIndex) -> RecognisedArchitecture? {
        guard let cls = t.shape("cls_token"), cls.count == 3,
            let position = t.shape("pos_embed"), position.count == 3,
            let patch = t.shape("patch_embed.proj.weight"), patch.count == 4, patch[2] == patch[3],
            let fc1 = t.shape("blocks.0.mlp.fc1.weight")
        else { return nil }
        let dim = cls[2]
        let patchSize = patch[2]
        let depth = t.indices(after: "blocks.").count
        let grid = Int(Double(position[1] - 1).squareRoot().rounded())
        guard dim > 0, grid * grid == position[1] - 1 else { return nil }
        let config: [(name: String, value: ConfigValue)] = [
            ("embed_dim", .int(dim)),
            ("depth", .int(depth)),
            ("patch_size", .int(patchSize)),
            ("img_size", .ints([grid * patchSize])),
            ("mlp_ratio", .int(fc1[0] / dim)),
            ("qkv_bias", .bool(t.has("blocks.0.attn.qkv.bias"))),
        ]
        let known: (String, String)?
        switch (dim, patchSize, depth, grid * patchSize) {
        case (384, 16, 12, 224): known = ("ViT-S/16", "dino-vits16")
        case (384, 8, 12, 224): known = ("ViT-S/8", "dino-vits8")
        case (768, 16, 12, 224): known = ("ViT-B/16", "dino-vitb16")
        case (768, 8, 12, 224): known = ("ViT-B/8", "dino-vitb8")
        default: known = nil
        }
        return RecognisedArchitecture(
            family: "DINO ViT", variant: known?.0, identifier: known?.1 ?? "dino-vit", config: config)
    }
}
