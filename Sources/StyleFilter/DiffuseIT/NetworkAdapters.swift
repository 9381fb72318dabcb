import Engine

extension DINOVisionTransformer: DINOGuidanceModel {
    /// Last-block keys `[N, D]` and pre-norm CLS `[D]` of one image, from one forward pass.
    package func keysAndCLS(_ image: Variable) throws -> (keys: Variable, cls: Variable) {
        let f = try features(image)
        let (n, d) = (f.keys.shape[1], f.keys.shape[2])
        return (Ops.reshape(f.keys, [n, d]), Ops.reshape(f.lastBlockCLS, [d]))
    }
}

/// An OpenAI CLIP model under its ensemble name ("ViT-B/32", "RN50", … or a file name).
package final class NamedCLIPModel: CLIPGuidanceModel {
    package let name: String
    package let model: CLIPModel

    package init(name: String, model: CLIPModel) {
        self.name = name
        self.model = model
    }

    package var imageResolution: Int { model.inputResolution }
    package func encodeImage(_ images: Variable) throws -> Variable { try model.encodeImage(images) }
    package func encodeText(_ tokens: [[Int32]]) throws -> Tensor { try model.encodeText(tokens) }
}
