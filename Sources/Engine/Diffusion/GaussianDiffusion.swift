#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A denoising network as the samplers call it: `x` is [B, C, …] and `timesteps` holds one
/// original-scale timestep per sample (already mapped and rescaled, see `modelTimesteps`). It returns
/// [B, 2C, …] (ε then variance values) for learned variances, [B, C, …] (ε) for fixed ones.
public typealias DiffusionModel = (_ x: Tensor, _ timesteps: [Float]) throws -> Tensor

/// guided-diffusion's `cond_fn`: the gradient g ≈ ∇ₓ log p(y | x) at `x` ([B, C, …]), given the
/// same mapped timesteps the model receives.
public typealias DiffusionGradient = (_ x: Tensor, _ timesteps: [Float]) throws -> Tensor

/// guided-diffusion's `GaussianDiffusion` wrapped as `SpacedDiffusion`, for an ε-predicting model.
///
/// Timestep indices `t` passed to every method are indices into the (respaced) schedule, one per
/// batch sample, 0 = least noise. Schedule values are cast to float32 before use, and every formula is
/// evaluated in float32 in upstream's operation order, so results match PyTorch to float32 rounding.
public struct GaussianDiffusion: Sendable {
    /// How the model's variance output is read (`ModelVarType`).
    public enum VarianceType: String, Sendable {
        /// The model's extra channels v ∈ [−1, 1] interpolate the log-variance between ln σ̃² and ln β.
        case learnedRange
        /// The model's extra channels are the log-variance itself.
        case learned
        /// σ̃² (the posterior variance), clipped at t = 0; the model returns ε only.
        case fixedSmall
        /// [σ̃²_1, β_1, β_2, …]; the model returns ε only.
        case fixedLarge

        /// Whether the model returns variance channels after ε.
        public var isLearned: Bool { self == .learnedRange || self == .learned }
    }

    /// `p_mean_variance`'s result, each [B, C, …].
    public struct MeanVariance: Sendable {
        /// Mean of p(x_{t−1} | x_t).
        public var mean: Tensor
        /// Variance of p(x_{t−1} | x_t), per element.
        public var variance: Tensor
        /// Its natural logarithm.
        public var logVariance: Tensor
        /// The x₀ prediction (after `denoisedFn` and clipping, when asked for).
        public var predXStart: Tensor
    }

    /// One sampler step's result, each [B, C, …].
    public struct SampleStep: Sendable {
        /// x at the next index (t−1 for `pSample`/`ddimSample`, t+1 for `ddimReverseSample`).
        public var sample: Tensor
        /// The x₀ prediction the step used.
        public var predXStart: Tensor
    }

    /// The arrays of the (respaced) schedule; length `stepCount`.
    public let schedule: DiffusionSchedule
    /// Original timestep index of each respaced index, ascending.
    public let timestepMap: [Int]
    /// Number of steps of the base (unrespaced) schedule.
    public let baseStepCount: Int
    /// How the model's variance is read.
    public let varianceType: VarianceType
    /// Whether the model receives timesteps scaled to the 0…1000 range (`rescale_timesteps`).
    public let rescaleTimesteps: Bool
    private let fixedVariance: [Double]
    private let fixedLogVariance: [Double]

    /// Number of sampler steps (respaced).
    public var stepCount: Int { schedule.count }

    /// A diffusion over `baseBetas` keeping only `keptTimesteps` (all when nil), like `SpacedDiffusion`.
    ///
    /// Kept step i gets β′ = 1 − ᾱ_i/ᾱ_last (ᾱ_last the previous kept ᾱ, initially 1), so the respaced
    /// ᾱ′ equals the base ᾱ at the kept steps.
    public init(
        baseBetas: [Double], keptTimesteps: [Int]? = nil, varianceType: VarianceType = .learnedRange,
        rescaleTimesteps: Bool = true
    ) throws {
        let base = try DiffusionSchedule(betas: baseBetas)
        let kept = Set(keptTimesteps ?? Array(0..<base.count))
        if let bad = kept.first(where: { !(0..<base.count).contains($0) }) {
            throw DiffusionError.timestepOutOfRange(bad, stepCount: base.count)
        }
        var betas: [Double] = [], map: [Int] = []
        var last = 1.0
        for (i, alphaCumprod) in base.alphasCumprod.enumerated() where kept.contains(i) {
            betas.append(1 - alphaCumprod / last)
            last = alphaCumprod
            map.append(i)
        }
        schedule = try DiffusionSchedule(betas: betas)
        timestepMap = map
        baseStepCount = base.count
        self.varianceType = varianceType
        self.rescaleTimesteps = rescaleTimesteps
        switch varianceType {
        case .fixedSmall:
            fixedVariance = schedule.posteriorVariance
            fixedLogVariance = schedule.posteriorLogVarianceClipped
        case .fixedLarge:
            let large = [schedule.posteriorVariance[1]] + schedule.betas.dropFirst()
            fixedVariance = large
            fixedLogVariance = large.map { log($0) }
        case .learnedRange, .learned:
            fixedVariance = []
            fixedLogVariance = []
        }
    }

    /// `create_gaussian_diffusion` for an ε-model: a named schedule of `baseSteps` steps, respaced by
    /// `respacing` ("100", "ddim50", "10,20,30", …; nil or empty keeps every step).
    public init(
        schedule name: BetaSchedule, baseSteps: Int, respacing: String? = nil,
        varianceType: VarianceType = .learnedRange, rescaleTimesteps: Bool = true
    ) throws {
        let betas = try name.betas(steps: baseSteps)
        let kept = try respacing.flatMap { $0.isEmpty ? nil : try TimestepRespacing.keptTimesteps(baseStepCount: baseSteps, spec: $0) }
        try self.init(baseBetas: betas, keptTimesteps: kept, varianceType: varianceType, rescaleTimesteps: rescaleTimesteps)
    }

    // MARK: Timesteps

    /// The timesteps the model (and `cond_fn`) receives for respaced indices `t`: the original index,
    /// times 1000/baseStepCount in float32 when `rescaleTimesteps` (upstream's `_WrappedModel`).
    public func modelTimesteps(_ t: [Int]) throws -> [Float] {
        try t.map { k in
            guard (0..<stepCount).contains(k) else { throw DiffusionError.timestepOutOfRange(k, stepCount: stepCount) }
            let original = Float(timestepMap[k])
            return rescaleTimesteps ? original * Float(1000.0 / Double(baseStepCount)) : original
        }
    }

    /// DiffuseIT's `unscale_timestep`: the respaced index ⌊t·(stepCount/1000)⌋ (float32 product,
    /// truncated) recovered from a model timestep. Exact for the counts DiffuseIT uses; check others.
    public func respacedIndex(fromModelTimestep timestep: Float) -> Int {
        Int((timestep * Float(Double(stepCount) / 1000)).rounded(.towardZero))
    }

    // MARK: Forward process and posterior

    /// q(x_t | x₀) sample: √ᾱ_t·x₀ + √(1−ᾱ_t)·noise.
    public func qSample(xStart: Tensor, t: [Int], noise: Tensor) throws -> Tensor {
        try check(xStart, t)
        try checkSame(noise, xStart, "noise")
        let a = coefficients(schedule.sqrtAlphasCumprod, t), s = coefficients(schedule.sqrtOneMinusAlphasCumprod, t)
        return BatchedElementwise.map(xStart, noise, batch: t.count) { b, x0, n in a[b] * x0 + s[b] * n }
    }

    /// The posterior q(x_{t−1} | x_t, x₀): mean coef1·x₀ + coef2·x_t, σ̃²_t and its clipped logarithm.
    public func qPosteriorMeanVariance(xStart: Tensor, xT: Tensor, t: [Int]) throws -> (mean: Tensor, variance: Tensor, logVariance: Tensor) {
        try check(xT, t)
        try checkSame(xStart, xT, "x_start")
        return (
            posteriorMean(xStart: xStart, xT: xT, t: t),
            broadcast(schedule.posteriorVariance, t, like: xT),
            broadcast(schedule.posteriorLogVarianceClipped, t, like: xT)
        )
    }

    /// x₀ from ε: √(1/ᾱ_t)·x_t − √(1/ᾱ_t − 1)·ε.
    public func predictXStart(fromEps eps: Tensor, xT: Tensor, t: [Int]) throws -> Tensor {
        try check(xT, t)
        try checkSame(eps, xT, "eps")
        return xStartFromEps(eps, xT, t)
    }

    /// ε from x₀: (√(1/ᾱ_t)·x_t − x₀) / √(1/ᾱ_t − 1).
    public func predictEps(fromXStart xStart: Tensor, xT: Tensor, t: [Int]) throws -> Tensor {
        try check(xT, t)
        try checkSame(xStart, xT, "x_start")
        return epsFromXStart(xStart, xT, t)
    }

    // MARK: Reverse process

    /// `p_mean_variance`: calls `model` with the mapped timesteps and reads its output.
    public func pMeanVariance(
        model: DiffusionModel, x: Tensor, t: [Int], clipDenoised: Bool,
        denoisedFn: ((Tensor) throws -> Tensor)? = nil
    ) throws -> MeanVariance {
        try check(x, t)
        let output = try model(x, modelTimesteps(t))
        return try pMeanVariance(modelOutput: output, x: x, t: t, clipDenoised: clipDenoised, denoisedFn: denoisedFn)
    }

    /// `p_mean_variance` for a model output computed elsewhere (for example on an autodiff tape).
    ///
    /// ε̂ = the first C channels; the variance follows `varianceType`; x̂₀ from ε̂, then `denoisedFn`,
    /// then a clamp to [−1, 1] if `clipDenoised`; mean = the posterior mean of (x̂₀, x_t).
    public func pMeanVariance(
        modelOutput: Tensor, x: Tensor, t: [Int], clipDenoised: Bool,
        denoisedFn: ((Tensor) throws -> Tensor)? = nil
    ) throws -> MeanVariance {
        try check(x, t)
        let channels = x.rank >= 2 ? x.shape[1] : 0
        var expected = x.shape
        if varianceType.isLearned, x.rank >= 2 { expected[1] = 2 * channels }
        guard x.rank >= 2, modelOutput.shape == expected else {
            throw DiffusionError.shapeMismatch("model output \(modelOutput.shape), expected \(expected) for x \(x.shape) with \(varianceType) variance")
        }
        let eps: Tensor, variance: Tensor, logVariance: Tensor
        if varianceType.isLearned {
            eps = BatchedElementwise.channels(modelOutput, first: 0, count: channels)
            let values = BatchedElementwise.channels(modelOutput, first: channels, count: channels)
            if varianceType == .learned {
                logVariance = values
            } else {
                let minLog = coefficients(schedule.posteriorLogVarianceClipped, t), maxLog = coefficients(schedule.logBetas, t)
                logVariance = BatchedElementwise.map(values, batch: t.count) { b, v in
                    let frac = (v + 1) / 2
                    return frac * maxLog[b] + (1 - frac) * minLog[b]
                }
            }
            variance = BatchedElementwise.map(logVariance, batch: t.count) { _, l in exp(l) }
        } else {
            eps = modelOutput
            variance = broadcast(fixedVariance, t, like: x)
            logVariance = broadcast(fixedLogVariance, t, like: x)
        }
        var xStart = xStartFromEps(eps, x, t)
        if let denoisedFn {
            xStart = try denoisedFn(xStart)
            try checkSame(xStart, x, "denoisedFn result")
        }
        if clipDenoised {
            xStart = BatchedElementwise.map(xStart, batch: t.count) { _, v in min(max(v, -1), 1) }
        }
        return MeanVariance(
            mean: posteriorMean(xStart: xStart, xT: x, t: t), variance: variance, logVariance: logVariance,
            predXStart: xStart)
    }

    /// `condition_mean` (Sohl-Dickstein et al.): mean + variance·g, with g the conditioning gradient.
    public func conditionMean(_ out: MeanVariance, gradient: Tensor) throws -> Tensor {
        try checkSame(gradient, out.mean, "gradient")
        let batch = out.mean.shape.first ?? 0
        return BatchedElementwise.map(out.mean, out.variance, gradient, batch: batch) { _, m, v, g in m + v * g }
    }

    /// `condition_score` (Song et al.): ε′ = ε(x̂₀) − √(1−ᾱ_t)·g, x̂₀′ from ε′ (no clipping), mean from
    /// x̂₀′; the variance is unchanged.
    public func conditionScore(_ out: MeanVariance, x: Tensor, t: [Int], gradient: Tensor) throws -> MeanVariance {
        try check(x, t)
        try checkSame(out.predXStart, x, "pred_xstart")
        try checkSame(gradient, x, "gradient")
        let alphaBar = coefficients(schedule.alphasCumprod, t)
        let eps = BatchedElementwise.map(epsFromXStart(out.predXStart, x, t), gradient, batch: t.count) { b, e, g in
            e - (1 - alphaBar[b]).squareRoot() * g
        }
        var conditioned = out
        conditioned.predXStart = xStartFromEps(eps, x, t)
        conditioned.mean = posteriorMean(xStart: conditioned.predXStart, xT: x, t: t)
        return conditioned
    }

    // MARK: Internals

    /// `arr[t_b]` cast to float32 per batch sample (upstream's `_extract_into_tensor`).
    func coefficients(_ array: [Double], _ t: [Int]) -> [Float] { t.map { Float(array[$0]) } }

    func broadcast(_ array: [Double], _ t: [Int], like x: Tensor) -> Tensor {
        let values = coefficients(array, t)
        return BatchedElementwise.map(x, batch: t.count) { b, _ in values[b] }
    }

    func xStartFromEps(_ eps: Tensor, _ x: Tensor, _ t: [Int]) -> Tensor {
        let r = coefficients(schedule.sqrtRecipAlphasCumprod, t), rm1 = coefficients(schedule.sqrtRecipm1AlphasCumprod, t)
        return BatchedElementwise.map(x, eps, batch: t.count) { b, xv, e in r[b] * xv - rm1[b] * e }
    }

    func epsFromXStart(_ xStart: Tensor, _ x: Tensor, _ t: [Int]) -> Tensor {
        let r = coefficients(schedule.sqrtRecipAlphasCumprod, t), rm1 = coefficients(schedule.sqrtRecipm1AlphasCumprod, t)
        return BatchedElementwise.map(x, xStart, batch: t.count) { b, xv, x0 in (r[b] * xv - x0) / rm1[b] }
    }

    func posteriorMean(xStart: Tensor, xT: Tensor, t: [Int]) -> Tensor {
        let c1 = coefficients(schedule.posteriorMeanCoef1, t), c2 = coefficients(schedule.posteriorMeanCoef2, t)
        return BatchedElementwise.map(xStart, xT, batch: t.count) { b, x0, xv in c1[b] * x0 + c2[b] * xv }
    }

    /// `x` is [B, …] with one in-range timestep index per sample.
    func check(_ x: Tensor, _ t: [Int]) throws {
        guard x.rank >= 1, x.shape[0] == t.count else {
            throw DiffusionError.shapeMismatch("x has shape \(x.shape) but \(t.count) timesteps were given")
        }
        if let bad = t.first(where: { !(0..<stepCount).contains($0) }) {
            throw DiffusionError.timestepOutOfRange(bad, stepCount: stepCount)
        }
    }

    func checkSame(_ a: Tensor, _ reference: Tensor, _ what: String) throws {
        guard a.shape == reference.shape else {
            throw DiffusionError.shapeMismatch("\(what) has shape \(a.shape), expected \(reference.shape)")
        }
    }
}
