import Engine

/// DiffuseIT's identity loss of faces mode (`--use_ffhq`; `id_loss.py` `IDLoss`): the ArcFace embeddings of the
/// face crop of the image being generated and of the source image should point the same way.
///
/// Upstream `extract_feats(x)`: the fixed crop `x[:, :, 35:223, 32:220]` of a 256x256 image in [−1, 1] (where FFHQ
/// aligns the face), `AdaptiveAvgPool2d((112, 112))`, then the ArcFace backbone. The loss is the batch mean of
/// `1 − ⟨feats(ŷ)_i, feats(y)_i⟩` with the source's features detached; they are computed once, at `init`.
struct IdentityLoss {
    /// What one evaluation computes, all differentiable w.r.t. `ŷ`.
    struct Evaluation {
        /// The pooled face crop the backbone sees, `[B, 3, 112, 112]`.
        let pooledFace: Variable
        /// The L2-normalised embedding of `ŷ`, `[B, E]`.
        let embedding: Variable
        /// `⟨embedding_i, sourceEmbedding_i⟩` per row, `[B]`.
        let similarities: Variable
        /// The loss: the mean of `1 − similarities`, shape `[]`.
        let loss: Variable
    }

    /// Upstream's crop, `[35:223, 32:220]` in Python slices.
    static let faceCrop = (top: 35, left: 32, height: 188, width: 188)

    let model: ArcFaceModel
    /// The crop and `AdaptiveAvgPool2d` as one linear map from the image plane to the backbone's input plane.
    let facePool: SparsePlaneMap
    /// The source's embedding (`y_feats`, detached), `[B, E]`.
    let sourceEmbedding: Tensor

    /// Prepares the loss for `source` (`[B, 3, H, W]` in [−1, 1], H ≥ 223, W ≥ 220: 256x256 in DiffuseIT);
    /// every `ŷ` must have the source's shape.
    init(model: ArcFaceModel, source: Tensor) throws {
        let c = Self.faceCrop
        guard source.rank == 4, source.shape[1] == 3, source.shape[2] >= c.top + c.height, source.shape[3] >= c.left + c.width else {
            throw StyleFilterError(.usage, "the identity loss needs [B, 3, H, W] images with H ≥ \(c.top + c.height) and W ≥ \(c.left + c.width) (256x256 in faces mode), got \(source.shape)")
        }
        self.model = model
        let side = model.config.inputSize
        let pool = SparsePlaneMap.adaptiveAverage(
            inputHeight: source.shape[2], inputWidth: source.shape[3], crop: c, outputHeight: side, outputWidth: side)
        facePool = pool
        sourceEmbedding = try Self.extractFeatures(Variable(source), model: model, facePool: pool).embedding.value
    }

    /// `extract_feats`: the pooled face crop of `image` and its embedding.
    static func extractFeatures(_ image: Variable, model: ArcFaceModel, facePool: SparsePlaneMap) throws -> (pooledFace: Variable, embedding: Variable) {
        let pooled = Ops.resample(image, facePool)
        return (pooled, try model(pooled))
    }

    /// The loss of `yHat` (usually watched on a tape) and its intermediates.
    func evaluate(_ yHat: Variable) throws -> Evaluation {
        let batch = sourceEmbedding.shape[0]
        guard yHat.rank == 4, yHat.shape[0] == batch, yHat.shape[2] == facePool.inputHeight, yHat.shape[3] == facePool.inputWidth else {
            throw StyleFilterError(.usage, "the identity loss was prepared for [\(batch), 3, \(facePool.inputHeight), \(facePool.inputWidth)] images, got \(yHat.shape)")
        }
        let (pooled, e) = try Self.extractFeatures(yHat, model: model, facePool: facePool)
        let width = e.shape[1]
        // Row-wise dot products as [B, 1, E]·[B, E, 1].
        let rows = Ops.matmul(Ops.reshape(e, [batch, 1, width]), Variable(sourceEmbedding.reshaped([batch, width, 1])))
        let similarities = Ops.reshape(rows, [batch])
        let loss = Ops.mean(Variable(Tensor(shape: [batch], repeating: 1)) - similarities)
        return Evaluation(pooledFace: pooled, embedding: e, similarities: similarities, loss: loss)
    }

    /// The loss of `yHat`, shape `[]`.
    func callAsFunction(_ yHat: Variable) throws -> Variable {
        try evaluate(yHat).loss
    }
}
