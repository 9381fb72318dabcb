#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One reverse step of the DDPM and DDIM samplers, and the DDIM inversion step.
///
/// Noise is injected by the caller (for example `PhiloxGenerator.normalTensor(x.shape)`), so a step is a
/// pure function of its inputs. It may be nil only where no noise is added (t = 0, or DDIM with σ = 0).
extension GaussianDiffusion {
    /// `p_sample`: x_{t−1} = mean + [t ≠ 0]·exp(½·log-variance)·noise, where the mean is conditioned by
    /// `conditionMean` when `gradient` (guided-diffusion's `cond_fn`) is given.
    public func pSample(
        model: DiffusionModel, x: Tensor, t: [Int], clipDenoised: Bool, noise: Tensor?,
        denoisedFn: ((Tensor) throws -> Tensor)? = nil, gradient: DiffusionGradient? = nil
    ) throws -> SampleStep {
        var out = try pMeanVariance(model: model, x: x, t: t, clipDenoised: clipDenoised, denoisedFn: denoisedFn)
        if let gradient {
            out.mean = try conditionMean(out, gradient: gradient(x, modelTimesteps(t)))
        }
        let mask: [Float] = t.map { $0 == 0 ? 0 : 1 }
        guard let noise = try requiredNoise(noise, like: x, needed: mask.contains(1)) else {
            return SampleStep(sample: out.mean, predXStart: out.predXStart)
        }
        let sample = BatchedElementwise.map(out.mean, out.logVariance, noise, batch: t.count) { b, m, l, n in
            m + mask[b] * exp(0.5 * l) * n
        }
        return SampleStep(sample: sample, predXStart: out.predXStart)
    }

    /// `ddim_sample` with `eta` (0 = deterministic DDIM): x_{t−1} = √ᾱ_prev·x̂₀ + √(1−ᾱ_prev−σ²)·ε +
    /// [t ≠ 0]·σ·noise, σ = η·√((1−ᾱ_prev)/(1−ᾱ))·√(1−ᾱ/ᾱ_prev); guided by `conditionScore` when
    /// `gradient` is given.
    public func ddimSample(
        model: DiffusionModel, x: Tensor, t: [Int], eta: Float, clipDenoised: Bool, noise: Tensor?,
        denoisedFn: ((Tensor) throws -> Tensor)? = nil, gradient: DiffusionGradient? = nil
    ) throws -> SampleStep {
        var out = try pMeanVariance(model: model, x: x, t: t, clipDenoised: clipDenoised, denoisedFn: denoisedFn)
        if let gradient {
            out = try conditionScore(out, x: x, t: t, gradient: gradient(x, modelTimesteps(t)))
        }
        let eps = epsFromXStart(out.predXStart, x, t)
        let alphaBar = coefficients(schedule.alphasCumprod, t), alphaBarPrev = coefficients(schedule.alphasCumprodPrev, t)
        let sigma: [Float] = (0..<t.count).map { b in
            eta * ((1 - alphaBarPrev[b]) / (1 - alphaBar[b])).squareRoot() * (1 - alphaBar[b] / alphaBarPrev[b]).squareRoot()
        }
        let mask: [Float] = t.map { $0 == 0 ? 0 : 1 }
        let noiseScale = (0..<t.count).map { mask[$0] * sigma[$0] }
        let sqrtPrev = alphaBarPrev.map { $0.squareRoot() }
        let epsScale = (0..<t.count).map { (1 - alphaBarPrev[$0] - sigma[$0] * sigma[$0]).squareRoot() }
        let meanPred = BatchedElementwise.map(out.predXStart, eps, batch: t.count) { b, x0, e in
            x0 * sqrtPrev[b] + epsScale[b] * e
        }
        guard let noise = try requiredNoise(noise, like: x, needed: noiseScale.contains { $0 != 0 }) else {
            return SampleStep(sample: meanPred, predXStart: out.predXStart)
        }
        let sample = BatchedElementwise.map(meanPred, noise, batch: t.count) { b, m, n in m + noiseScale[b] * n }
        return SampleStep(sample: sample, predXStart: out.predXStart)
    }

    /// `ddim_reverse_sample` (η = 0, deterministic inversion): x_{t+1} = √ᾱ_next·x̂₀ + √(1−ᾱ_next)·ε.
    public func ddimReverseSample(
        model: DiffusionModel, x: Tensor, t: [Int], clipDenoised: Bool,
        denoisedFn: ((Tensor) throws -> Tensor)? = nil
    ) throws -> SampleStep {
        let out = try pMeanVariance(model: model, x: x, t: t, clipDenoised: clipDenoised, denoisedFn: denoisedFn)
        let eps = epsFromXStart(out.predXStart, x, t)
        let next = coefficients(schedule.alphasCumprodNext, t)
        let sqrtNext = next.map { $0.squareRoot() }, sqrtOneMinusNext = next.map { (1 - $0).squareRoot() }
        let sample = BatchedElementwise.map(out.predXStart, eps, batch: t.count) { b, x0, e in
            x0 * sqrtNext[b] + sqrtOneMinusNext[b] * e
        }
        return SampleStep(sample: sample, predXStart: out.predXStart)
    }

    /// The noise when the step adds some, checked against x's shape; nil when none is added.
    private func requiredNoise(_ noise: Tensor?, like x: Tensor, needed: Bool) throws -> Tensor? {
        guard needed else { return nil }
        guard let noise else { throw DiffusionError.missingNoise(shape: x.shape) }
        try checkSame(noise, x, "noise")
        return noise
    }
}
