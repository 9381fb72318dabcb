import Engine

extension DINOVisionTransformer: DINOGuidanceModel {
    /// Last-block keys `[N, D]` and pre-norm CLS `[D]` of one image, from one forward pass.
    public func keysAndCLS(_ image: Variable) throws -> (keys: Variable, cls: Variable) {
        let f = try features(image)
        let (n, d) = (f.keys.shape[1], f.keys.shape[2])
        return (Ops.reshape(f.keys, [n, d]), Ops.reshape(f.lastBlockCLS, [d]))
    }
}

/// An OpenAI CLIP model under its ensemble name ("ViT-B/32", "RN50", … or a file name).
public final class NamedCLIPModel: CLIPGuidanceModel {
    public let name: String
    public let model: CLIPModel

    public init(name: String, model: CLIPModel) {
        self.name = name
        self.model = model
    }

    public var imageResolution: Int { model.inputResolution }
    public func encodeImage(_ images: Variable) throws -> Variable { try model.encodeImage(images) }
    public func encodeText(_ tokens: [[Int32]]) throws -> Tensor { try model.encodeText(tokens) }
}
