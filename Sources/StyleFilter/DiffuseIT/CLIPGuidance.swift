import Engine

/// A CLIP model as DiffuseIT's text guidance uses it.
package protocol CLIPGuidanceModel: AnyObject {
    /// The model's name (for plans and errors), e.g. "ViT-B/32".
    var name: String { get }
    /// The square input resolution n of the image tower.
    var imageResolution: Int { get }
    /// Image embeddings `[B, E]` of CLIP-normalised images `[B, 3, n, n]` (differentiable).
    func encodeImage(_ images: Variable) throws -> Variable
    /// Text embeddings `[T, E]` of tokenised texts (rows of context-length ids).
    func encodeText(_ tokens: [[Int32]]) throws -> Tensor
}

/// The CLIP ensemble loss of DiffuseIT's text mode with FlexIT's target vector.
///
/// Per model m: E_S, E_T = the normalised mean of the text features of the 79 templates filled with
/// the source / target text; E_I0 = the normalised embedding of the source image with the "test"
/// preprocessing (bilinear resize to n, no crop for square images); t_m = normalise(E_T − 0.4·E_S +
/// 0.2·E_I0). For an image x the loss is −(1/M) Σ_m ⟨mean_v normalise(E(view_v(x))), t_m⟩ over the
/// random "train" views (`CLIPAugmentation`); with no views it uses the test preprocessing.
package final class CLIPGuidance {
    /// One ensemble member with its fixed target.
    package struct Member {
        package let model: any CLIPGuidanceModel
        /// t_m, `[E]`, unit length.
        package let target: Tensor

        package init(model: any CLIPGuidanceModel, target: Tensor) {
            self.model = model
            self.target = target
        }
    }

    package let members: [Member]

    /// Builds the targets for `sourceImage` (`[1, 3, S, S]` in [−1, 1]) and the two texts.
    package init(models: [any CLIPGuidanceModel], targetText: String, sourceText: String, sourceImage: Tensor, tokenizer: CLIPTokenizer) throws {
        precondition(!models.isEmpty, "CLIP guidance needs at least one model")
        let targetTokens = try tokenizer.tokenize(PromptTemplates.filled(with: targetText), truncate: true)
        let sourceTokens = try tokenizer.tokenize(PromptTemplates.filled(with: sourceText), truncate: true)
        members = try models.map { model in
            let eT = CLIPGuidance.textEmbedding(templateFeatures: try model.encodeText(targetTokens))
            let eS = CLIPGuidance.textEmbedding(templateFeatures: try model.encodeText(sourceTokens))
            let eI = try CLIPGuidance.imageEmbedding(model, image: Variable(sourceImage), views: nil).value
            return Member(model: model, target: CLIPGuidance.flexITTarget(targetText: eT, sourceText: eS, sourceImage: eI))
        }
    }

    /// The members with precomputed targets (for tests and callers that cache them).
    package init(members: [Member]) {
        precondition(!members.isEmpty, "CLIP guidance needs at least one model")
        self.members = members
    }

    /// Mean of the per-template text features `[T, E]`, then L2-normalised: `[E]`.
    static func textEmbedding(templateFeatures f: Tensor) -> Tensor {
        Ops.l2Normalize(Ops.mean(Variable(f), axis: 0)).value
    }

    /// normalise(1·E_T − 0.4·E_S + 0.2·E_I0), each `[E]`.
    static func flexITTarget(targetText: Tensor, sourceText: Tensor, sourceImage: Tensor) -> Tensor {
        let t = Variable(targetText), s = Variable(sourceText), i = Variable(sourceImage)
        return Ops.l2Normalize(t - Ops.scale(s, 0.4) + Ops.scale(i, 0.2)).value
    }

    /// The mean over views of the unit image embeddings of `image` (`[1, 3, S, S]` in [−1, 1]), `[E]`;
    /// `views == nil` uses the test preprocessing (one view, bilinear resize to n).
    static func imageEmbedding(_ model: any CLIPGuidanceModel, image: Variable, views: [CLIPAugmentation]?) throws -> Variable {
        precondition(image.rank == 4 && image.shape[0] == 1 && image.shape[2] == image.shape[3], "CLIP guidance expects one square image, got \(image.shape)")
        let size = image.shape[2], n = model.imageResolution
        let unit = image.unitRange
        let batch: Variable
        if let views, !views.isEmpty {
            batch = CLIPPreprocessing.normalize(Ops.concat(views.map { Ops.resample(unit, $0.map(size: size, resolution: n)) }, axis: 0))
        } else {
            batch = CLIPPreprocessing.prepare(unit, resolution: n)
        }
        let embeddings = Ops.l2Normalize(try model.encodeImage(batch))
        return Ops.mean(embeddings, axis: 0)
    }

    /// The unweighted loss −(1/M) Σ_m ⟨e_m, t_m⟩; `views[m]` are member m's views (nil: test preprocessing).
    package func loss(_ image: Variable, views: [[CLIPAugmentation]]?) throws -> Variable {
        var total: Variable?
        for (m, member) in members.enumerated() {
            let e = try CLIPGuidance.imageEmbedding(member.model, image: image, views: views?[m])
            let score = Ops.sum(e * Variable(member.target))
            total = total.map { $0 + score } ?? score
        }
        return Ops.scale(total!, -1 / Float(members.count))
    }

    /// `count` random "train" views for a `size x size` image per member, member by member (the
    /// order the generator is drawn in).
    func randomViews(count: Int, size: Int, using rng: inout PhiloxGenerator) -> [[CLIPAugmentation]] {
        members.map { _ in (0..<count).map { _ in CLIPAugmentation.random(size: size, using: &rng) } }
    }
}
