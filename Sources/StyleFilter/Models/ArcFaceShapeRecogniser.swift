/// The ArcFace IR / IR-SE backbone of TreB1eN's InsightFace port (as used by pSp and DiffuseIT):
/// `input_layer.0`, `body.{i}.res_layer`, `output_layer.3` (the embedding Linear).
struct ArcFaceShapeRecogniser: ArchitectureRecogniser {
    func recognise(_ t: TensorIndex) -> RecognisedArchitecture? {
        guard let stem = t.shape("input_layer.0.weight"), stem.count == 4,
            let embedding = t.shape("output_layer.3.weight"), embedding.count == 2
        else { return nil }
        let units = t.indices(after: "body.").count
        guard units > 0 else { return nil }
        let squeezeExcite = t.has("body.0.res_layer.5.fc1.weight")
        // Units per depth in `get_blocks`: 50 -> 3+4+14+3, 100 -> 3+13+30+3, 152 -> 3+8+36+3.
        let depth: Int? = [24: 50, 49: 100, 50: 152][units]
        let config: [(name: String, value: ConfigValue)] = [
            ("num_layers", depth.map { .int($0) } ?? .none), ("units", .int(units)),
            ("squeeze_excitation", .bool(squeezeExcite)), ("embedding", .int(embedding[0])), ("stem_channels", .int(stem[0])),
        ]
        let isIRSE50 = depth == 50 && squeezeExcite && embedding[0] == 512
        let variant = depth.map { "IR\(squeezeExcite ? "-SE" : "")-\($0)" }
        return RecognisedArchitecture(
            family: "ArcFace IR", variant: variant, identifier: isIRSE50 ? "arcface-ir-se50" : "arcface", config: config)
    }
}
