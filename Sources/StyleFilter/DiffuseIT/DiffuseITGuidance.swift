import Engine

/// One guided reverse step of DiffuseIT (upstream `cond_fn` + guided-diffusion `p_sample` /
/// `ddim_sample`), with ONE U-Net forward on a tape shared by the sampler and the guidance (upstream
/// runs the U-Net twice with identical inputs), one DINO pass shared by every DINO term, reference
/// features computed once per run, and no weight gradients.
///
/// Holds the state upstream keeps between guidance evaluations: the previous image's CLS token (for
/// the semantic divergence) and the previous unweighted CLIP loss (for the content-weight factor).
/// Neither is reset between outputs or on restarts, as upstream.
public final class DiffuseITGuidance {
    /// The loss terms, named as the fixtures and upstream's metrics name them.
    public enum Term: String, CaseIterable, Sendable {
        case clip, ssim, contra, dirCls = "dir_cls", trgCls = "trg_cls", range, mseTrg = "mse_trg"
    }

    /// What one step computed.
    public struct Step {
        /// The U-Net output `[1, 2C, H, W]` (ε, variance values).
        public var modelOutput: Tensor
        /// The unguided p_mean_variance result (its x̂₀ is upstream's output image at k = 0 for DDPM).
        public var unguided: GaussianDiffusion.MeanVariance
        /// The noise-mixed estimate and the image the DINO/MSE losses read.
        public var xMix: Tensor, xIn: Tensor
        /// Unweighted active terms.
        public var terms: [Term: Float]
        /// Σ weight·term (what is differentiated).
        public var total: Float
        /// The content-weight factor used.
        public var contentWeight: Float
        /// cond_fn's gradient g = −∂L/∂x_t.
        public var gradient: Tensor
        /// DDPM: mean + Σ·g. DDIM: the mean of the `condition_score` result.
        public var conditionedMean: Tensor
        /// DDIM: the guided x̂₀ (upstream's output at k = 0); DDPM: the unguided x̂₀.
        public var outputXStart: Tensor
        /// x at index k − 1.
        public var sample: Tensor
        /// Whether the range-restart test fired.
        public var restart: Bool
    }

    public let parameters: DiffuseITParameters
    public let diffusion: GaussianDiffusion
    public let unet: UNetModel
    public let dino: DINOLosses?
    public let clip: CLIPGuidance?
    /// Source and style images `[1, 3, S, S]` in [−1, 1].
    public let source: Tensor, style: Tensor?
    /// The first (noisiest) index of the run, k0 = N − skip − 1.
    public let startIndex: Int
    let sourceReference: DINOLosses.Reference?
    let styleCLS: Tensor?

    /// CLS token of the previous guidance evaluation's x_in (initially the source's).
    public var previousCLS: Tensor?
    /// The previous step's unweighted CLIP loss (text mode; initially the source image's).
    public var previousCLIPLoss: Float?

    public var isImageMode: Bool { style != nil }

    /// Prepares a run: reference DINO features of source and style image, the initial CLIP loss.
    public init(
        parameters: DiffuseITParameters, diffusion: GaussianDiffusion, unet: UNetModel, dino: DINOLosses?,
        clip: CLIPGuidance?, source: Tensor, style: Tensor?
    ) throws {
        guard (style == nil) != (clip == nil) else {
            throw DiffuseITError.badInput("give either a style image (image mode) or CLIP guidance (text mode)")
        }
        guard parameters.vitLambda == 0 || dino != nil else { throw DiffuseITError.badInput("the DINO losses need a DINO model") }
        let k0 = diffusion.stepCount - parameters.skipTimesteps - 1
        guard k0 >= 0 else {
            throw DiffuseITError.badParameter("skip_timesteps \(parameters.skipTimesteps) leaves no step of \(diffusion.stepCount)")
        }
        self.parameters = parameters
        self.diffusion = diffusion
        self.unet = unet
        self.dino = parameters.vitLambda == 0 ? nil : dino
        self.clip = clip
        self.source = source
        self.style = style
        self.startIndex = k0
        if let d = self.dino {
            let ref = try d.reference(source)
            sourceReference = ref
            previousCLS = ref.cls
            styleCLS = try style.map { try d.reference($0).cls }
        } else {
            sourceReference = nil
            styleCLS = nil
        }
        if let clip { previousCLIPLoss = try clip.loss(Variable(source), views: nil).value.scalars[0] }
    }

    /// The one U-Net forward of a guided step, on a fresh tape watching `x`: the model output, the
    /// unguided mean/variance, and x̂₀ = √(1/ᾱ)·x − √(1/ᾱ − 1)·ε on the tape (coefficients in float32 as
    /// upstream), so the sampler and the guidance share the forward. Also used per tile by ``TiledSampler``.
    static func predictOnTape(_ x: Tensor, k: Int, unet: UNetModel, diffusion: GaussianDiffusion) throws
        -> (tape: Tape, x: Variable, output: Variable, unguided: GaussianDiffusion.MeanVariance, predXStart: Variable)
    {
        let schedule = diffusion.schedule
        let tape = Tape()
        let xv = tape.watch(x)
        let timesteps = Tensor(shape: [1], scalars: try diffusion.modelTimesteps([k]))
        let output = unet(xv, timesteps: timesteps)
        let unguided = try diffusion.pMeanVariance(modelOutput: output.value, x: x, t: [k], clipDenoised: false)
        let eps = Ops.slice(output, axis: 1, 0..<x.shape[1])
        let x0 = Ops.scale(xv, Float(schedule.sqrtRecipAlphasCumprod[k])) - Ops.scale(eps, Float(schedule.sqrtRecipm1AlphasCumprod[k]))
        return (tape, xv, output, unguided, x0)
    }

    /// The sampler update of a guided step from the model output and the guidance gradient (already
    /// negated): DDPM conditions the mean and samples with `noise` (none at k = 0), its output x̂₀ is
    /// the unguided one (upstream); DDIM conditions the score (eta 0), its x̂₀ is the guided one. Also
    /// used per tile by ``TiledSampler``.
    static func update(
        _ x: Tensor, k: Int, modelOutput: Tensor, unguided: GaussianDiffusion.MeanVariance, gradient: Tensor, noise: Tensor?, ddim: Bool,
        diffusion: GaussianDiffusion
    ) throws -> (conditionedMean: Tensor, outputXStart: Tensor, sample: Tensor) {
        let model: DiffusionModel = { _, _ in modelOutput }
        if ddim {
            let guided = try diffusion.conditionScore(unguided, x: x, t: [k], gradient: gradient)
            let s = try diffusion.ddimSample(model: model, x: x, t: [k], eta: 0, clipDenoised: false, noise: nil, gradient: { _, _ in gradient })
            return (guided.mean, guided.predXStart, s.sample)
        }
        let mean = try diffusion.conditionMean(unguided, gradient: gradient)
        let s = try diffusion.pSample(model: model, x: x, t: [k], clipDenoised: false, noise: k > 0 ? noise : nil, gradient: { _, _ in gradient })
        return (mean, unguided.predXStart, s.sample)
    }

    /// The guided step at respaced index `k` from `x` (`[1, 3, S, S]`). `noise` is the DDPM noise
    /// (needed for k > 0; ignored by DDIM); `views[m]` are CLIP member m's augmentations (text mode).
    public func step(_ x: Tensor, k: Int, noise: Tensor?, views: [[CLIPAugmentation]]?) throws -> Step {
        let p = parameters
        let (tape, xv, output, unguided, x0) = try Self.predictOnTape(x, k: k, unet: unet, diffusion: diffusion)
        let loss = try evaluateLoss(predXStart: x0, x: xv, k: k, views: views)
        if let l = loss.terms[.clip] { previousCLIPLoss = l.value.scalars[0] }
        if let cls = loss.cls { previousCLS = cls }
        let total = loss.total

        var gradient = Tensor.zeros(x.shape)
        if let total {
            let dLdx = tape.gradients(of: total, cotangent: Tensor(shape: total.shape, repeating: 1), wrt: [xv])[0]
            gradient = Ops.scale(Variable(dLdx), -1).value
        }
        let restart = p.useRangeRestart && k < startIndex && loss.weightedRange > p.rangeRestartThreshold

        let (conditionedMean, outputXStart, sample) = try Self.update(
            x, k: k, modelOutput: output.value, unguided: unguided, gradient: gradient, noise: noise, ddim: p.ddim, diffusion: diffusion)
        return Step(
            modelOutput: output.value, unguided: unguided, xMix: loss.xMix.value, xIn: loss.xIn.value,
            terms: loss.terms.mapValues { $0.value.scalars[0] }, total: total?.value.scalars[0] ?? 0, contentWeight: loss.contentWeight, gradient: gradient, conditionedMean: conditionedMean,
            outputXStart: outputXStart, sample: sample, restart: restart)
    }

    /// The guidance loss of one evaluation, recorded on the tape of `predXStart`/`x`.
    public struct LossEvaluation {
        /// Σ weight·term, nil when every term is off.
        public var total: Variable?
        /// The unweighted active terms.
        public var terms: [Term: Variable]
        /// The noise-mixed estimate and the image the DINO/MSE losses read.
        public var xMix: Variable, xIn: Variable
        /// The content-weight factor used.
        public var contentWeight: Float
        /// CLS token of x_in (the next evaluation's "previous" CLS), when DINO ran.
        public var cls: Tensor?
        /// range_lambda × range term (the restart test's value).
        public var weightedRange: Float
    }

    /// Upstream's `cond_fn` loss for x̂₀ = `predXStart` at index `k` of x_t = `x`, reading but not
    /// changing the state (previous CLS and CLIP loss). Terms are added in upstream's order: CLIP,
    /// self-similarity, contrastive·frac, semantic divergence (k > diff_iter), CLS style, range, MSE.
    public func evaluateLoss(predXStart x0: Variable, x: Variable, k: Int, views: [[CLIPAugmentation]]?) throws -> LossEvaluation {
        let p = parameters
        let xMix = ImageLosses.noiseMixed(predXStart: x0, xT: x, factor: diffusion.schedule.sqrtOneMinusAlphasCumprod[k])
        let xIn = p.useNoiseAugAll ? xMix : x0
        // Thresholds use the respaced index k itself (upstream recovers it as ⌊t·N/1000⌋ from the
        // model timestep, which is exact only for some respacings).
        let frac = ImageLosses.contentWeightFactor(
            previousCLIPLoss: isImageMode ? nil : previousCLIPLoss, progressiveContrast: p.useProgContrast,
            regularizeContent: p.regularizeContent)
        var terms: [Term: Variable] = [:]
        var total: Variable?
        func add(_ term: Term, _ value: Variable, weight: Float) {
            terms[term] = value
            let weighted = Ops.scale(value, weight)
            total = total.map { $0 + weighted } ?? weighted
        }
        if let clip, p.clipGuidanceLambda != 0 {
            add(.clip, try clip.loss(xMix, views: views), weight: p.clipGuidanceLambda)
        }
        var cls: Tensor?
        if let dino, let sourceReference {
            let useDir = k > p.diffIter && p.lambdaDirCls > 0
            let t = try dino.terms(xIn, source: sourceReference, previousCLS: useDir ? previousCLS : nil,
                styleCLS: p.lambdaTrg > 0 ? styleCLS : nil)
            if p.lambdaSSIM > 0 { add(.ssim, t.selfSimilarity, weight: p.lambdaSSIM) }
            if p.lambdaContraSSIM > 0 { add(.contra, t.contrastive, weight: p.lambdaContraSSIM * frac) }
            if let d = t.semanticDivergence { add(.dirCls, d, weight: p.lambdaDirCls) }
            if let s = t.style { add(.trgCls, s, weight: p.lambdaTrg) }
            cls = t.cls
        }
        var weightedRange: Float = 0
        if p.rangeLambda != 0 {
            let r = ImageLosses.range(x0)
            add(.range, r, weight: p.rangeLambda)
            weightedRange = r.value.scalars[0] * p.rangeLambda
        }
        if let style { add(.mseTrg, ImageLosses.mse(xIn, style), weight: p.l2TrgLambda) }
        return LossEvaluation(total: total, terms: terms, xMix: xMix, xIn: xIn, contentWeight: frac, cls: cls, weightedRange: weightedRange)
    }

    /// Re-noising between the resampling repeats at k0: √(1 − β)·x + √β·noise with β the respaced
    /// β at index k0 − 1 (upstream's choice, kept; the paper's formula uses the same index).
    public func renoise(_ x: Tensor, noise: Tensor) -> Tensor {
        DiffuseITGuidance.renoise(x, noise: noise, diffusion: diffusion, startIndex: startIndex)
    }

    /// `renoise` for a given diffusion and k0.
    public static func renoise(_ x: Tensor, noise: Tensor, diffusion: GaussianDiffusion, startIndex: Int) -> Tensor {
        let beta = Float(diffusion.schedule.betas[max(startIndex - 1, 0)])
        return (Ops.scale(Variable(x), (1 - beta).squareRoot()) + Ops.scale(Variable(noise), beta.squareRoot())).value
    }
}
