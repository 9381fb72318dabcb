import Engine

/// OpenAI CLIP (openai/CLIP `model.py`), ViT or ModifiedResNet image tower, read by the Engine
/// (``CLIPConfig/recognise(_:visionHeads:textHeads:)``, which derives it as `build_model` does).
struct CLIPShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ archive: any TensorArchive) -> RecognisedArchitecture? {
        // Heads leave no trace in the shapes and are not shown: 1 divides every width.
        guard let c = try? CLIPConfig.recognise(WeightStore(archive), visionHeads: 1, textHeads: 1), let text = c.text else { return nil }
        var config: [(name: String, value: ConfigValue)] = [("embed_dim", .int(c.embedDim)), ("image_resolution", .int(c.imageResolution))]
        let family: String
        let known: (String, String)?
        switch c.vision {
        case .transformer(let width, let layers, _, let patch):
            family = "CLIP ViT"
            config += [("vision_layers", .int(layers)), ("vision_width", .int(width)), ("vision_patch_size", .int(patch))]
            switch (width, layers, patch, c.imageResolution, c.embedDim) {
            case (768, 12, 32, 224, 512): known = ("ViT-B/32", "clip-vitb32")
            case (768, 12, 16, 224, 512): known = ("ViT-B/16", "clip-vitb16")
            default: known = nil
            }
        case .resNet(let layers, let width, _):
            family = "CLIP ResNet"
            config += [("vision_layers", .ints(layers)), ("vision_width", .int(width)), ("vision_patch_size", .none)]
            switch (layers, width, c.imageResolution, c.embedDim) {
            case ([3, 4, 6, 3], 64, 224, 1024): known = ("RN50", "clip-rn50")
            case ([4, 6, 10, 6], 80, 288, 640): known = ("RN50x4", "clip-rn50x4")
            case ([6, 8, 18, 8], 96, 384, 768): known = ("RN50x16", "clip-rn50x16")
            default: known = nil
            }
        }
        config += [
            ("context_length", .int(text.contextLength)), ("vocab_size", .int(text.vocabSize)),
            ("transformer_width", .int(text.width)), ("transformer_layers", .int(text.layers)),
        ]
        let generic = family == "CLIP ViT" ? "clip-vit" : "clip-resnet"
        return RecognisedArchitecture(family: family, variant: known?.0, identifier: known?.1 ?? generic, config: config)
    }
}
