/// OpenAI CLIP (openai/CLIP `model.py`), ViT or ModifiedResNet image tower, configuration derived from
/// shapes the way `build_model` does it (spec D.1, D.5).
struct CLIPShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ t: TensorIndex) -> RecognisedArchitecture? {
        guard let projection = t.shape("text_projection"), projection.count == 2,
            let tokens = t.shape("token_embedding.weight"), let positions = t.shape("positional_embedding"),
            let lnFinal = t.shape("ln_final.weight")
        else { return nil }
        let textLayers = t.indices(after: "transformer.resblocks.").count
        var config: [(name: String, value: ConfigValue)] = [("embed_dim", .int(projection[1]))]
        let family: String
        let known: (String, String)?
        if let conv = t.shape("visual.conv1.weight"), conv.count == 4, t.has("visual.proj"),
            let visualPositions = t.shape("visual.positional_embedding")
        {
            let grid = Int(Double(visualPositions[0] - 1).squareRoot().rounded())
            let layers = t.indices(after: "visual.transformer.resblocks.").count
            let resolution = conv[3] * grid
            family = "CLIP ViT"
            config += [
                ("image_resolution", .int(resolution)), ("vision_layers", .int(layers)),
                ("vision_width", .int(conv[0])), ("vision_patch_size", .int(conv[3])),
            ]
            switch (conv[0], layers, conv[3], resolution, projection[1]) {
            case (768, 12, 32, 224, 512): known = ("ViT-B/32", "clip-vitb32")
            case (768, 12, 16, 224, 512): known = ("ViT-B/16", "clip-vitb16")
            default: known = nil
            }
        } else if let stem = t.shape("visual.layer1.0.conv1.weight"),
            let pool = t.shape("visual.attnpool.positional_embedding")
        {
            let layers = (1...4).map { t.indices(after: "visual.layer\($0).").count }
            let resolution = Int(Double(pool[0] - 1).squareRoot().rounded()) * 32
            family = "CLIP ResNet"
            config += [
                ("image_resolution", .int(resolution)), ("vision_layers", .ints(layers)),
                ("vision_width", .int(stem[0])), ("vision_patch_size", .none),
            ]
            switch (layers, stem[0], resolution, projection[1]) {
            case ([3, 4, 6, 3], 64, 224, 1024): known = ("RN50", "clip-rn50")
            case ([4, 6, 10, 6], 80, 288, 640): known = ("RN50x4", "clip-rn50x4")
            case ([6, 8, 18, 8], 96, 384, 768): known = ("RN50x16", "clip-rn50x16")
            default: known = nil
            }
        } else {
            return nil
        }
        config += [
            ("context_length", .int(positions[0])), ("vocab_size", .int(tokens[0])),
            ("transformer_width", .int(lnFinal[0])), ("transformer_layers", .int(textLayers)),
        ]
        let generic = family == "CLIP ViT" ? "clip-vit" : "clip-resnet"
        return RecognisedArchitecture(family: family, variant: known?.0, identifier: known?.1 ?? generic, config: config)
    }
}
