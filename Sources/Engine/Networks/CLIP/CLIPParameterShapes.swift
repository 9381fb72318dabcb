extension CLIPModel {
    /// Checkpoint names and shapes of a CLIP ViT image tower alone (the official JIT archives' `visual.*`
    /// layout) of `width` channels, `layers` blocks, `patch`-pixel patches at `resolution`, projecting to
    /// `embed`, for ``RandomWeightArchive``. ViT-B/32: 768, 12, 32, 224, 512; ViT-B/16: 768, 12, 16, 224, 512.
    public static func imageTowerShapes(width w: Int, layers: Int, patch: Int, resolution: Int, embed: Int) -> [(name: String, shape: [Int])] {
        let tokens = 1 + (resolution / patch) * (resolution / patch)
        var shapes: [(name: String, shape: [Int])] = [
            ("visual.class_embedding", [w]), ("visual.positional_embedding", [tokens, w]), ("visual.conv1.weight", [w, 3, patch, patch]),
            ("visual.ln_pre.weight", [w]), ("visual.ln_pre.bias", [w]), ("visual.ln_post.weight", [w]), ("visual.ln_post.bias", [w]),
            ("visual.proj", [w, embed]),
        ]
        for i in 0..<layers {
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
