import Engine

/// A DINO ViT as DiffuseIT's structure and style losses use it.
package protocol DINOGuidanceModel: AnyObject {
    /// For one ImageNet-normalised image `[1, 3, h, w]`: the last block's keys with the heads
    /// concatenated, CLS row included (`[N, D]`), and the last block's output token 0 before the final
    /// LayerNorm (`[D]`). Both differentiable w.r.t. the image.
    func keysAndCLS(_ image: Variable) throws -> (keys: Variable, cls: Variable)
}

/// DiffuseIT's DINO losses (`model_vit/loss_vit.py`), all read from ONE forward pass of the image
/// (upstream runs one pass per term and re-encodes the reference images every step).
///
/// Every image goes through `0.5·x + 0.5`, a bilinear resize of the shorter side to
/// `globalPatchSize` (long side capped at 480, no antialias) and ImageNet normalisation.
package final class DINOLosses {
    /// Features of an image that only serves as a reference (no gradient).
    package struct Reference {
        /// Unit-length keys `[N, D]`.
        let unitKeys: Tensor
        /// Cosine self-similarity of the keys `[N, N]`.
        let selfSimilarity: Tensor
        /// Last-block CLS token `[D]`.
        let cls: Tensor
    }

    /// The unweighted terms for one image.
    package struct Terms {
        /// MSE between the key self-similarity matrices (Splice's "global ssim").
        let selfSimilarity: Variable
        /// PatchNCE-style contrastive loss between the keys and the source's keys.
        let contrastive: Variable
        /// −MSE between the CLS token and the previous image's (semantic divergence), if asked.
        let semanticDivergence: Variable?
        /// MSE between the CLS token and the style image's, if asked.
        package let style: Variable?
        /// The image's CLS token value (the next step's "previous" CLS).
        let cls: Tensor
    }

    package let model: any DINOGuidanceModel
    /// The shorter side DINO sees (`dino_global_patch_size`, 224 upstream).
    package let globalPatchSize: Int
    /// The temperature of the contrastive loss.
    static let temperature: Float = 0.07

    package init(model: any DINOGuidanceModel, globalPatchSize: Int = 224) {
        self.model = model
        self.globalPatchSize = globalPatchSize
    }

    /// The DINO input for `[1, 3, H, W]` images in [−1, 1].
    func preprocess(_ image: Variable) -> Variable {
        DINOPreprocessing.normalize(ImagePreprocessing.resizeShorterSide(image.unitRange, to: globalPatchSize, maxSize: 480))
    }

    /// Keys and CLS of an image in [−1, 1].
    package func features(_ image: Variable) throws -> (keys: Variable, cls: Variable) {
        precondition(image.rank == 4 && image.shape[0] == 1, "DINO losses take one image [1, 3, H, W], got \(image.shape)")
        return try model.keysAndCLS(preprocess(image))
    }

    /// Reference features of a fixed image (source or style image).
    package func reference(_ image: Tensor) throws -> Reference {
        let f = try features(Variable(image))
        let unit = Ops.l2Normalize(f.keys)
        return Reference(unitKeys: unit.value, selfSimilarity: Ops.matmul(unit, unit, transposeB: true).value, cls: f.cls.value)
    }

    /// The terms for `image` (usually watched on a tape): one DINO pass shared by all of them.
    package func terms(_ image: Variable, source: Reference, previousCLS: Tensor?, styleCLS: Tensor?) throws -> Terms {
        let f = try features(image)
        let structure = structureTerms(f, source: source, previousCLS: previousCLS)
        let style = styleCLS.map { styleTerm(f, styleCLS: $0) }
        return Terms(selfSimilarity: structure.selfSimilarity, contrastive: structure.contrastive,
            semanticDivergence: structure.semanticDivergence, style: style, cls: f.cls.value)
    }

    /// The terms that compare an image's features with the source region's: key self-similarity,
    /// contrastive loss and (with `previousCLS`) semantic divergence.
    func structureTerms(_ f: (keys: Variable, cls: Variable), source: Reference, previousCLS: Tensor?)
        -> (selfSimilarity: Variable, contrastive: Variable, semanticDivergence: Variable?)
    {
        let unit = Ops.l2Normalize(f.keys)
        let selfSim = Ops.mse(Ops.matmul(unit, unit, transposeB: true), Variable(source.selfSimilarity))
        let contrastive = DINOLosses.contrastive(unitKeys: unit, sourceUnitKeys: source.unitKeys)
        let divergence = previousCLS.map { Ops.scale(Ops.mse(f.cls, Variable($0)), -1) }
        return (selfSim, contrastive, divergence)
    }

    /// MSE between an image's CLS token and the style image's.
    func styleTerm(_ f: (keys: Variable, cls: Variable), styleCLS: Tensor) -> Variable {
        Ops.mse(f.cls, Variable(styleCLS))
    }

    /// DiffuseIT's `PatchLoss` averaged over tokens: row i has logits [cos(q_i, p_i), cos(q_i, p_j) for
    /// all j with the j = i entry replaced by −10] / 0.07, and the loss is the cross-entropy of class 0.
    static func contrastive(unitKeys q: Variable, sourceUnitKeys p: Tensor) -> Variable {
        let n = q.shape[0], d = q.shape[1]
        let pv = Variable(p)
        let cosines = Ops.matmul(q, pv, transposeB: true)  // [N, N]
        var offDiagonal = [Float](repeating: 1, count: n * n), diagonal = [Float](repeating: 0, count: n * n)
        for i in 0..<n { offDiagonal[i * n + i] = 0; diagonal[i * n + i] = -10 }
        let negatives = cosines * Variable(Tensor(shape: [n, n], scalars: offDiagonal)) + Variable(Tensor(shape: [n, n], scalars: diagonal))
        let positives = Ops.reshape(Ops.scale(Ops.mean(q * pv, axis: 1), Float(d)), [n, 1])
        let logits = Ops.scale(Ops.concat([positives, negatives], axis: 1), 1 / temperature)
        let logProbability = Ops.slice(Ops.logSoftmax(logits), axis: 1, 0..<1)
        return Ops.scale(Ops.mean(logProbability), -1)
    }
}
