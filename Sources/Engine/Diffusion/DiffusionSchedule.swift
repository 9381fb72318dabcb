#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every per-timestep array guided-diffusion's `GaussianDiffusion.__init__` derives from its betas,
/// in float64 (index t = 0…T−1, 0 = least noise).
///
/// Samplers cast an entry to float32 before using it, as upstream's `_extract_into_tensor` does;
/// DiffuseIT code building its own expressions should do the same (`Float(array[t])`).
public struct DiffusionSchedule: Sendable, Equatable {
    /// β_t, the per-step noise variances.
    public let betas: [Double]
    /// ᾱ_t = ∏_{s≤t} (1 − β_s).
    public let alphasCumprod: [Double]
    /// [1, ᾱ_0, …, ᾱ_{T−2}].
    public let alphasCumprodPrev: [Double]
    /// [ᾱ_1, …, ᾱ_{T−1}, 0].
    public let alphasCumprodNext: [Double]
    /// √ᾱ_t (q_sample's signal scale).
    public let sqrtAlphasCumprod: [Double]
    /// √(1 − ᾱ_t) (q_sample's noise scale; DiffuseIT's noise-mixing factor).
    public let sqrtOneMinusAlphasCumprod: [Double]
    /// ln(1 − ᾱ_t).
    public let logOneMinusAlphasCumprod: [Double]
    /// √(1/ᾱ_t): x̂₀ = √(1/ᾱ_t)·x_t − √(1/ᾱ_t − 1)·ε.
    public let sqrtRecipAlphasCumprod: [Double]
    /// √(1/ᾱ_t − 1).
    public let sqrtRecipm1AlphasCumprod: [Double]
    /// σ̃²_t = β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t); 0 at t = 0.
    public let posteriorVariance: [Double]
    /// ln σ̃² with entry 0 replaced by entry 1 (σ̃²_0 = 0 has no logarithm).
    public let posteriorLogVarianceClipped: [Double]
    /// β_t √ᾱ_{t−1} / (1 − ᾱ_t): the x₀ weight of the posterior mean.
    public let posteriorMeanCoef1: [Double]
    /// (1 − ᾱ_{t−1}) √α_t / (1 − ᾱ_t): the x_t weight of the posterior mean.
    public let posteriorMeanCoef2: [Double]
    /// ln β_t: the upper end of the learned-range log-variance.
    public let logBetas: [Double]

    /// Number of timesteps T.
    public var count: Int { betas.count }

    /// Derives every array from `betas` (at least two, each in (0, 1]).
    public init(betas: [Double]) throws {
        // Upstream's clipped posterior log-variance reads entry 1, so it needs two steps at least.
        guard betas.count >= 2 else { throw DiffusionError.invalidBetas("\(betas.count) betas; at least 2 are needed") }
        if let bad = betas.firstIndex(where: { !($0 > 0 && $0 <= 1) }) {
            throw DiffusionError.invalidBetas("beta[\(bad)] = \(betas[bad]) is outside (0, 1]")
        }
        let n = betas.count
        self.betas = betas
        let alphas = betas.map { 1 - $0 }
        var cumprod = [Double](repeating: 0, count: n)
        var running = 1.0
        for i in 0..<n {
            running *= alphas[i]
            cumprod[i] = running
        }
        alphasCumprod = cumprod
        alphasCumprodPrev = [1.0] + cumprod.dropLast()
        alphasCumprodNext = Array(cumprod.dropFirst()) + [0.0]
        sqrtAlphasCumprod = cumprod.map { $0.squareRoot() }
        sqrtOneMinusAlphasCumprod = cumprod.map { (1 - $0).squareRoot() }
        logOneMinusAlphasCumprod = cumprod.map { log(1 - $0) }
        sqrtRecipAlphasCumprod = cumprod.map { (1 / $0).squareRoot() }
        sqrtRecipm1AlphasCumprod = cumprod.map { (1 / $0 - 1).squareRoot() }
        let prev = alphasCumprodPrev
        let variance = (0..<n).map { betas[$0] * (1 - prev[$0]) / (1 - cumprod[$0]) }
        posteriorVariance = variance
        posteriorLogVarianceClipped = (0..<n).map { log($0 == 0 ? variance[1] : variance[$0]) }
        posteriorMeanCoef1 = (0..<n).map { betas[$0] * prev[$0].squareRoot() / (1 - cumprod[$0]) }
        posteriorMeanCoef2 = (0..<n).map { (1 - prev[$0]) * alphas[$0].squareRoot() / (1 - cumprod[$0]) }
        logBetas = betas.map { log($0) }
    }
}
