/// Checkpoint names and shapes of the feature networks, for random-weight archives (`RandomArchive`).
enum BenchShapes {
    static func dinoB8() -> [(name: String, shape: [Int])] {
        dino(width: 768, depth: 12, patch: 8, tokens: 785)
    }

    /// Checkpoint names and shapes of a DINO ViT of width `width` and `depth` blocks.
    static func dino(width d: Int, depth: Int, patch: Int, tokens: Int) -> [(name: String, shape: [Int])] {
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

    static func clipB32Image() -> [(name: String, shape: [Int])] {
        let w = 768
        var shapes: [(name: String, shape: [Int])] = [
            ("visual.class_embedding", [w]), ("visual.positional_embedding", [50, w]), ("visual.conv1.weight", [w, 3, 32, 32]),
            ("visual.ln_pre.weight", [w]), ("visual.ln_pre.bias", [w]), ("visual.ln_post.weight", [w]), ("visual.ln_post.bias", [w]),
            ("visual.proj", [w, 512]),
        ]
        for i in 0..<12 {
            let p = "visual.transformer.resblocks.\(i)."
            shapes += [
                (p + "ln_1.weight", [w]), (p + "ln_1.bias", [w]), (p + "attn.in_proj_weight", [3 * w, w]), (p + "attn.in_proj_bias", [3 * w]),
                (p + "attn.out_proj.weight", [w, w]), (p + "attn.out_proj.bias", [w]), (p + "ln_2.weight", [w]), (p + "ln_2.bias", [w]),
                (p + "mlp.c_fc.weight", [4 * w, w]), (p + "mlp.c_fc.bias", [4 * w]), (p + "mlp.c_proj.weight", [w, 4 * w]), (p + "mlp.c_proj.bias", [w]),
            ]
        }
        return shapes
    }
}
