import Engine
import Foundation
@testable import StyleFilter

/// Builds the fixture networks a case names, with the configs the manifest states.
enum FixtureNetworks {
    static func dino(file: String, heads: Int?) throws -> DINOVisionTransformer {
        let store = WeightStore(try Checkpoint.open(Fixtures.path(file)))
        return try DINOVisionTransformer(weights: store, config: DINOConfig.recognise(store, heads: heads))
    }

    /// A CLIP model; `config` is the manifest's model_config (OpenAI `build_model` keys).
    static func clip(file: String, config: [String: Any]?) throws -> NamedCLIPModel {
        let store = WeightStore(try Checkpoint.open(Fixtures.path(file)))
        let textHeads = config?["transformer_heads"] as? Int
        let visionHeads = config?["vision_heads"] as? Int
        let c = try CLIPConfig.recognise(store, visionHeads: visionHeads, textHeads: textHeads)
        return NamedCLIPModel(name: file, model: try CLIPModel(weights: store, config: c))
    }

    static func unet(file: String, config: [String: Any]) throws -> UNetModel {
        let c = try JSONDecoder().decode(UNetConfig.self, from: JSONSerialization.data(withJSONObject: config))
        return try UNetModel(config: c, weights: WeightStore(Checkpoint.open(Fixtures.path(file))))
    }
}
