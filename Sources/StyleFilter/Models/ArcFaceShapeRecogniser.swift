import Engine

/// The ArcFace IR / IR-SE backbone of TreB1eN's InsightFace port (as pSp and DiffuseIT use it):
/// `input_layer.0`, `body.{i}.res_layer`, `output_layer.3` (the embedding Linear). A whole IR-SE
/// network is read by the Engine (``ArcFaceConfig/recognise(_:)``), which can run it; other IR layouts
/// are named by family and depth only.
struct ArcFaceShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ archive: any TensorArchive) -> RecognisedArchitecture? {
        guard let stem = archive.shape(of: "input_layer.0.weight"), stem.count == 4,
            let embedding = archive.shape(of: "output_layer.3.weight"), embedding.count == 2
        else { return nil }
        if let c = try? ArcFaceConfig.recognise(WeightStore(archive)) {
            var config: [(name: String, value: ConfigValue)] = c.numLayers.map { [("num_layers", .int($0))] } ?? []
            config += [
                ("units", .int(c.stages.reduce(0) { $0 + $1.units })), ("stage_units", .ints(c.stages.map(\.units))),
                ("stage_widths", .ints(c.stages.map(\.width))), ("squeeze_excitation", .bool(true)), ("se_channels", .ints(c.stages.map(\.squeezeChannels))),
                ("embedding_dim", .int(c.embeddingDim)), ("stem_channels", .int(c.stemChannels)),
            ]
            let isIRSE50 = c.numLayers == 50 && c.embeddingDim == 512
            return RecognisedArchitecture(
                family: "ArcFace IR", variant: c.numLayers.map { "IR-SE-\($0)" }, identifier: isIRSE50 ? "arcface-ir-se50" : "arcface", config: config)
        }
        // Not a network the Engine runs (plain IR, or tensors missing): the family, and the depth its unit count gives.
        var units = 0
        while archive.shape(of: "body.\(units).res_layer.1.weight") != nil { units += 1 }
        guard units > 0 else { return nil }
        let squeezeExcite = archive.shape(of: "body.0.res_layer.5.fc1.weight") != nil
        let depth = ArcFaceConfig.unitsPerStage.first { $0.value.reduce(0, +) == units }?.key
        var config: [(name: String, value: ConfigValue)] = depth.map { [("num_layers", .int($0))] } ?? []
        config += [("units", .int(units)), ("squeeze_excitation", .bool(squeezeExcite)), ("embedding_dim", .int(embedding[0])), ("stem_channels", .int(stem[0]))]
        return RecognisedArchitecture(family: "ArcFace IR", variant: depth.map { "IR\(squeezeExcite ? "-SE" : "")-\($0)" }, identifier: "arcface", config: config)
    }
}
