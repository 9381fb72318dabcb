import Engine

/// One guided reverse step of DiffuseIT (upstream `cond_fn` + guided-diffusion `p_sample` /
/// `ddim_sample`), with ONE U-Net forward on a tape shared by the sampler and the guidance (upstream
/// runs the U-Net twice with identical inputs), one DINO pass shared by every DINO term, reference
/// features computed once per run, and no weight gradients.
///
/// Holds the state upstream keeps between guidance evaluations: the previous image's CLS token (for
/// the semantic divergence) and the previous unweighted CLIP loss (for the content-weight factor).
/// Neither is reset between outputs or on restarts, as upstream.
package final class DiffuseITGuidance {
    /// What one step computed.
    package struct Step {
        /// The U-Net output `[1, 2C, H, W]` (ε, variance values).
        var modelOutput: Tensor
        /// The unguided p_mean_variance result (its x̂₀ is upstream's output image at k = 0 for DDPM).
        var unguided: GaussianDiffusion.MeanVariance
        /// The noise-mixed estimate and the image the DINO/MSE losses read.
        var xMix: Tensor, xIn: Tensor
        /// Unweighted active terms.
        package var terms: [DiffuseITLoss.Term: Float]
        /// Σ weight·term (what is differentiated).
        var total: Float
        /// The content-weight factor used.
        var contentWeight: Float
        /// cond_fn's gradient g = −∂L/∂x_t.
        var gradient: Tensor
        /// DDPM: mean + Σ·g. DDIM: the mean of the `condition_score` result.
        var conditionedMean: Tensor
        /// DDIM: the guided x̂₀ (upstream's output at k = 0); DDPM: the unguided x̂₀.
        var outputXStart: Tensor
        /// x at index k − 1.
        package var sample: Tensor
        /// range_lambda × range term, which the restart test reads.
        var weightedRange: Float
        /// Whether the range-restart test fired.
        var restart: Bool
    }

    let loss: DiffuseITLoss
    let diffusion: GaussianDiffusion
    let unet: UNetModel
    /// Source image `[1, 3, S, S]` in [−1, 1].
    let source: Tensor
    /// The first (noisiest) index of the run, k0 = N − skip − 1.
    package let startIndex: Int
    let sourceReference: DINOLosses.Reference?

    /// CLS token of the previous guidance evaluation's x_in (initially the source's).
    var previousCLS: Tensor?
    /// The previous step's unweighted CLIP loss (text mode; initially the source image's).
    var previousCLIPLoss: Float?

    var parameters: DiffuseITParameters { loss.parameters }
    var dino: DINOLosses? { loss.dino }
    var clip: CLIPGuidance? { loss.clip }
    var style: Tensor? { loss.style }

    /// Prepares a run: reference DINO features of source and style image, the initial CLIP loss.
    init(loss: DiffuseITLoss, diffusion: GaussianDiffusion, unet: UNetModel, source: Tensor) throws {
        guard let k0 = loss.parameters.startIndex(stepCount: diffusion.stepCount) else {
            throw DiffuseITError.badParameter("skip_timesteps \(loss.parameters.skipTimesteps) leaves no step of \(diffusion.stepCount)")
        }
        self.loss = loss
        self.diffusion = diffusion
        self.unet = unet
        self.source = source
        startIndex = k0
        sourceReference = try loss.dino.map { try $0.reference(source) }
        previousCLS = sourceReference?.cls
        if let clip = loss.clip { previousCLIPLoss = try clip.loss(Variable(source), views: nil).value.scalars[0] }
    }

    package convenience init(
        parameters: DiffuseITParameters, diffusion: GaussianDiffusion, unet: UNetModel, dino: DINOLosses?, clip: CLIPGuidance?, source: Tensor,
        style: Tensor?, arcface: ArcFaceModel? = nil
    ) throws {
        let identity = try arcface.map { try IdentityLoss(model: $0, source: source) }
        try self.init(loss: DiffuseITLoss(parameters: parameters, dino: dino, clip: clip, style: style, identity: identity),
            diffusion: diffusion, unet: unet, source: source)
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
    package func step(_ x: Tensor, k: Int, noise: Tensor?, views: [[CLIPAugmentation]]?) throws -> Step {
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
        let restart = p.useRangeRestart && k < startIndex && loss.weightedRange > p.restartThreshold

        let (conditionedMean, outputXStart, sample) = try Self.update(
            x, k: k, modelOutput: output.value, unguided: unguided, gradient: gradient, noise: noise, ddim: p.ddim, diffusion: diffusion)
        return Step(
            modelOutput: output.value, unguided: unguided, xMix: loss.xMix.value, xIn: loss.xIn.value,
            terms: loss.terms.mapValues { $0.value.scalars[0] }, total: total?.value.scalars[0] ?? 0, contentWeight: loss.contentWeight,
            gradient: gradient, conditionedMean: conditionedMean, outputXStart: outputXStart, sample: sample,
            weightedRange: loss.weightedRange, restart: restart)
    }

    /// Upstream's `cond_fn` loss on the whole image for x̂₀ = `predXStart` at index `k` of x_t = `x`,
    /// reading but not changing the state (previous CLS and CLIP loss).
    func evaluateLoss(predXStart x0: Variable, x: Variable, k: Int, views: [[CLIPAugmentation]]?) throws -> DiffuseITLoss.Evaluation {
        try loss.evaluate(
            predXStart: x0, x: x, k: k, of: diffusion.schedule, views: views, structure: sourceReference.map { .init(reference: $0, previousCLS: previousCLS) },
            targets: true, contentWeight: loss.contentWeight(previousCLIPLoss: previousCLIPLoss))
    }

    /// Re-noising between the resampling repeats at k0: √(1 − β)·x + √β·noise with β the respaced
    /// β at index k0 − 1 (upstream's choice, kept; the paper's formula uses the same index).
    func renoise(_ x: Tensor, noise: Tensor) -> Tensor {
        DiffuseITGuidance.renoise(x, noise: noise, diffusion: diffusion, startIndex: startIndex)
    }

    /// `renoise` for a given diffusion and k0.
    static func renoise(_ x: Tensor, noise: Tensor, diffusion: GaussianDiffusion, startIndex: Int) -> Tensor {
        let beta = Float(diffusion.schedule.betas[max(startIndex - 1, 0)])
        return (Ops.scale(Variable(x), (1 - beta).squareRoot()) + Ops.scale(Variable(noise), beta.squareRoot())).value
    }
}
