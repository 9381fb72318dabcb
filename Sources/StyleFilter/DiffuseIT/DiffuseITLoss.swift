import Engine

/// Upstream's `cond_fn` loss: the one place its terms are assembled, for the whole image, for one
/// tile of a tiled run and for a tiled run's whole-image view.
///
/// Terms are added in upstream's order (the order also fixes the float sums, so every caller gets
/// the same bits for the same inputs): CLIP, self-similarity, contrastive · content weight, semantic
/// divergence (k > diff_iter), CLS style, range, pixel MSE, identity (faces mode); then a tiled
/// run's linear view term. The whole-image terms (CLIP, CLS style, MSE, identity) read the whole
/// image, so a tile leaves them to the view.
package struct DiffuseITLoss {
    /// The loss terms, named as the fixtures and upstream's metrics name them.
    package enum Term: String, CaseIterable, Sendable {
        case clip, ssim, contra, dirCls = "dir_cls", trgCls = "trg_cls", range, mseTrg = "mse_trg", id
    }

    /// What the structure terms of one region compare with.
    struct Structure {
        /// The source region's reference features.
        var reference: DINOLosses.Reference
        /// CLS token of the previous evaluation on this region (semantic divergence).
        var previousCLS: Tensor?
    }

    /// The loss of one evaluation, recorded on the tape of its inputs.
    struct Evaluation {
        /// Σ weight·term, nil when every term is off.
        var total: Variable?
        /// The unweighted active terms.
        var terms: [Term: Variable]
        /// The noise-mixed estimate and the image the DINO/MSE losses read.
        var xMix: Variable, xIn: Variable
        /// The content-weight factor used.
        var contentWeight: Float
        /// CLS token of x_in (the next evaluation's "previous" CLS), when DINO ran.
        var cls: Tensor?
        /// range_lambda × range term (the whole image's restart test).
        var weightedRange: Float
        /// The image a tiled run's view is built from: x_in in image mode, x_mix in text mode.
        var targetInput: Variable
    }

    let parameters: DiffuseITParameters
    /// Nil when `vit_lambda` is 0 (upstream's switch for every DINO term).
    let dino: DINOLosses?
    let clip: CLIPGuidance?
    /// The style image at the model size `[1, 3, S, S]` (image mode).
    let style: Tensor?
    /// The style image's CLS token (image mode with DINO).
    let styleCLS: Tensor?
    /// Faces mode's identity loss against the source at the model size.
    let identity: IdentityLoss?

    var isImageMode: Bool { style != nil }

    init(parameters: DiffuseITParameters, dino: DINOLosses?, clip: CLIPGuidance?, style: Tensor?, identity: IdentityLoss? = nil) throws {
        guard (style == nil) != (clip == nil) else {
            throw DiffuseITError.badInput("give either a style image (image mode) or CLIP guidance (text mode)")
        }
        guard parameters.vitLambda == 0 || dino != nil else { throw DiffuseITError.badInput("the DINO losses need a DINO model") }
        guard parameters.useFFHQ == (identity != nil) else {
            throw DiffuseITError.badInput("faces mode (use_ffhq) and an identity network go together")
        }
        self.parameters = parameters
        self.identity = identity
        self.dino = parameters.vitLambda == 0 ? nil : dino
        self.clip = clip
        self.style = style
        let used = self.dino
        styleCLS = try style.flatMap { st in try used.map { try $0.reference(st).cls } }
    }

    /// The content-weight factor (`frac_cont`) for the previous step's unweighted CLIP loss; 1 in
    /// image mode.
    func contentWeight(previousCLIPLoss: Float?) -> Float {
        ImageLosses.contentWeightFactor(
            previousCLIPLoss: isImageMode ? nil : previousCLIPLoss, progressiveContrast: parameters.useProgContrast,
            regularizeContent: parameters.regularizeContent)
    }

    /// The loss for x̂₀ = `predXStart` at respaced index `k` of `schedule` (the run's diffusion) of
    /// x_t = `x`. `structure` (nil: none)
    /// gives the region's structure terms, `targets` whether the target terms are evaluated here,
    /// `viewGradient` a tiled run's gradient at the view spread onto this region (the linear term
    /// ⟨G, target input⟩). Thresholds use the respaced index k itself (upstream recovers it as
    /// ⌊t·N/1000⌋ from the model timestep, which is exact only for some respacings).
    func evaluate(
        predXStart x0: Variable, x: Variable, k: Int, of schedule: DiffusionSchedule, views: [[CLIPAugmentation]]?, structure: Structure?,
        targets: Bool, contentWeight frac: Float, viewGradient: Tensor? = nil
    ) throws -> Evaluation {
        let xMix = ImageLosses.noiseMixed(predXStart: x0, xT: x, factor: schedule.sqrtOneMinusAlphasCumprod[k])
        let xIn = parameters.useNoiseAugAll ? xMix : x0
        return try assemble(xMix: xMix, xIn: xIn, predXStart: x0, k: k, views: views, structure: structure, targets: targets,
            contentWeight: frac, viewGradient: viewGradient)
    }

    /// The target terms alone on a tiled run's whole-image view (read as both x_mix and x_in).
    func evaluateTargets(view: Variable, views: [[CLIPAugmentation]]?) throws -> Evaluation {
        try assemble(xMix: view, xIn: view, predXStart: nil, k: 0, views: views, structure: nil, targets: true, contentWeight: 1, viewGradient: nil)
    }

    private func assemble(
        xMix: Variable, xIn: Variable, predXStart x0: Variable?, k: Int, views: [[CLIPAugmentation]]?, structure: Structure?, targets: Bool,
        contentWeight frac: Float, viewGradient: Tensor?
    ) throws -> Evaluation {
        let p = parameters
        var terms: [Term: Variable] = [:]
        var total: Variable?
        func add(_ term: Term?, _ value: Variable, weight: Float) {
            if let term { terms[term] = value }
            let weighted = Ops.scale(value, weight)
            total = total.map { $0 + weighted } ?? weighted
        }
        if targets, let clip, p.clipGuidanceLambda != 0 {
            add(.clip, try clip.loss(xMix, views: views), weight: p.clipGuidanceLambda)
        }
        var cls: Tensor?
        let styleCLS = targets && p.lambdaTrg > 0 ? self.styleCLS : nil
        if let dino, structure != nil || styleCLS != nil {
            // One DINO pass serves every DINO term.
            let features = try dino.features(xIn)
            if let structure {
                let useDir = k > p.diffIter && p.lambdaDirCls > 0
                let t = dino.structureTerms(features, source: structure.reference, previousCLS: useDir ? structure.previousCLS : nil)
                let s = styleCLS.map { dino.styleTerm(features, styleCLS: $0) }
                if p.lambdaSSIM > 0 { add(.ssim, t.selfSimilarity, weight: p.lambdaSSIM) }
                if p.lambdaContraSSIM > 0 { add(.contra, t.contrastive, weight: p.lambdaContraSSIM * frac) }
                if let d = t.semanticDivergence { add(.dirCls, d, weight: p.lambdaDirCls) }
                if let s { add(.trgCls, s, weight: p.lambdaTrg) }
            } else if let styleCLS {
                add(.trgCls, dino.styleTerm(features, styleCLS: styleCLS), weight: p.lambdaTrg)
            }
            cls = features.cls.value
        }
        var weightedRange: Float = 0
        if let x0, p.rangeLambda != 0 {
            let r = ImageLosses.range(x0)
            add(.range, r, weight: p.rangeLambda)
            weightedRange = r.value.scalars[0] * p.rangeLambda
        }
        if targets, let style { add(.mseTrg, ImageLosses.mse(xIn, style), weight: p.l2TrgLambda) }
        if targets, let identity, p.idLambda != 0 { add(.id, try identity(xIn), weight: p.idLambda) }
        let targetInput = isImageMode ? xIn : xMix
        if let viewGradient { add(nil, Ops.sum(targetInput * Variable(viewGradient)), weight: 1) }
        return Evaluation(total: total, terms: terms, xMix: xMix, xIn: xIn, contentWeight: frac, cls: cls, weightedRange: weightedRange,
            targetInput: targetInput)
    }
}
