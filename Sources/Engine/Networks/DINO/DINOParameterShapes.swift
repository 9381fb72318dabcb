extension DINOVisionTransformer {
    /// Checkpoint names and shapes of a DINO ViT (the official `dino_vit*_pretrain.pth` layout) of `width`
    /// channels and `depth` blocks with `patch`-pixel patches and a position table of `tokens` rows, for
    /// ``RandomWeightArchive``. ViT-B/8 at 224: width 768, depth 12, patch 8, tokens 785.
    public static func parameterShapes(width d: Int, depth: Int, patch: Int, tokens: Int) -> [(name: String, shape: [Int])] {
        var shapes: [(name: String, shape: [Int])] = [
            ("cls_token", [1, 1, d]), ("pos_embed", [1, tokens, d]), ("patch_embed.proj.weight", [d, 3, patch, patch]),
            ("patch_embed.proj.bias", [d]), ("norm.weight", [d]), ("norm.bias", [d]),
        ]
        for i in 0..<depth {
            let p = "blocks.\(i)."
            shapes += [
                (p + "norm1.weight", [d]), (p + "norm1.bias", [d]), (p + "attn.qkv.weight", [3 * d, d]), (p + "attn.qkv.bias", [3 * d]),
                (p + "attn.proj.weight", [d, d]), (p + "attn.proj.bias", [d]), (p + "norm2.weight", [d]), (p + "norm2.bias", [d]),
                (p + "mlp.fc1.weight", [4 * d, d]), (p + "mlp.fc1.bias", [4 * d]), (p + "mlp.fc2.weight", [d, 4 * d]), (p + "mlp.fc2.bias", [d]),
            ]
        }
        return shapes
    }
}
