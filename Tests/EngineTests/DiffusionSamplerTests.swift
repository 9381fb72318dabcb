import Foundation
import Testing
@testable import Engine

/// Properties of the forward process and sampler steps that hold whatever the model (checked on a
/// random stand-in model), plus the argument checks.
@Suite struct DiffusionSamplerTests {
    let diffusion: GaussianDiffusion
    let shape = [2, 3, 4, 4]

    init() throws {
        diffusion = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: "100")
    }

    private func random(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
        var rng = PhiloxGenerator(seed: seed)
        let t = rng.normalTensor(shape)
        return Tensor(shape: shape, scalars: t.scalars.map { $0 * scale })
    }

    /// A model returning fixed ε and variance values, whatever x is.
    private func constantModel(channels: Int = 6) -> DiffusionModel {
        let output = random([2, channels, 4, 4], seed: 5, scale: 0.5)
        return { _, _ in output }
    }

    private func element(_ t: Tensor, _ i: Int) -> Float { t.withUnsafeBufferPointer { $0[i] } }

    @Test func xStartAndEpsRoundTripThroughQSample() throws {
        let x0 = random(shape, seed: 1), noise = random(shape, seed: 2), t = [3, 40]
        let xt = try diffusion.qSample(xStart: x0, t: t, noise: noise)
        let recovered = try diffusion.predictXStart(fromEps: noise, xT: xt, t: t)
        #expect(relativeL2(recovered.scalars, x0.scalars) < 1e-5)
        let eps = try diffusion.predictEps(fromXStart: x0, xT: xt, t: t)
        #expect(relativeL2(eps.scalars, noise.scalars) < 1e-5)
        // Per-sample coefficients: sample b uses t[b].
        let a = Float(diffusion.schedule.sqrtAlphasCumprod[40]), s = Float(diffusion.schedule.sqrtOneMinusAlphasCumprod[40])
        let i = 48 + 7
        #expect(element(xt, i) == a * element(x0, i) + s * element(noise, i))
    }

    @Test func learnedRangeVarianceInterpolatesBetweenItsBounds() throws {
        let x = random(shape, seed: 3), t = [0, 70]
        let low = t.map { diffusion.schedule.posteriorLogVarianceClipped[$0] }, high = t.map { diffusion.schedule.logBetas[$0] }
        // v = −1 → ln σ̃², v = 1 → ln β, v = 0 → their midpoint, v = 0.5 → three quarters of the way.
        for (v, weight) in [(Float(-1), 0.0), (1, 1), (0, 0.5), (0.5, 0.75)] {
            var output = [Float](repeating: 0.1, count: 2 * 6 * 16)
            for b in 0..<2 { for i in 0..<48 { output[b * 96 + 48 + i] = v } }
            let model: DiffusionModel = { _, _ in Tensor(shape: [2, 6, 4, 4], scalars: output) }
            let out = try diffusion.pMeanVariance(model: model, x: x, t: t, clipDenoised: false)
            for b in 0..<2 {
                let expected = weight * high[b] + (1 - weight) * low[b]
                #expect(abs(Double(element(out.logVariance, b * 48 + 5)) - expected) <= 1e-6 * abs(expected), "v \(v), t \(t[b])")
                #expect(abs(Double(element(out.variance, b * 48 + 5)) - Foundation.exp(expected)) <= 1e-6 * Foundation.exp(expected))
            }
        }
        #expect(high[0] - low[0] > 0.01, "the bounds differ enough for this test to see the interpolation")
    }

    @Test func fixedAndLearnedVarianceTypes() throws {
        let x = random(shape, seed: 3), t = [0, 70]
        let betas = try BetaSchedule.linear.betas(steps: 1000)
        let small = try GaussianDiffusion(baseBetas: betas, varianceType: .fixedSmall)
        let large = try GaussianDiffusion(baseBetas: betas, varianceType: .fixedLarge)
        let epsOnly = constantModel(channels: 3)
        let s = try small.pMeanVariance(model: epsOnly, x: x, t: t, clipDenoised: false)
        let l = try large.pMeanVariance(model: epsOnly, x: x, t: t, clipDenoised: false)
        #expect(element(s.variance, 0) == Float(small.schedule.posteriorVariance[0]))
        #expect(element(s.logVariance, 0) == Float(small.schedule.posteriorLogVarianceClipped[0]))
        #expect(element(l.variance, 0) == Float(large.schedule.posteriorVariance[1]))
        #expect(element(l.variance, 48) == Float(large.schedule.betas[70]))
        #expect(element(l.logVariance, 48) == Float(log(large.schedule.betas[70])))
        // A fixed-variance diffusion refuses a 2C-channel output, a learned one a C-channel output.
        #expect(throws: DiffusionError.self) { try small.pMeanVariance(model: constantModel(), x: x, t: t, clipDenoised: false) }
        #expect(throws: DiffusionError.self) { try diffusion.pMeanVariance(model: epsOnly, x: x, t: t, clipDenoised: false) }
        let learned = try GaussianDiffusion(baseBetas: betas, varianceType: .learned)
        let out = try learned.pMeanVariance(model: constantModel(), x: x, t: t, clipDenoised: false)
        let values = BatchedElementwise.channels(try constantModel()(x, []), first: 3, count: 3)
        #expect(out.logVariance.scalars == values.scalars)
    }

    @Test func clippingAndDenoisedFnApplyToPredXStart() throws {
        let x = random(shape, seed: 4, scale: 3), t = [99, 99]
        let clipped = try diffusion.pMeanVariance(model: constantModel(), x: x, t: t, clipDenoised: true)
        let free = try diffusion.pMeanVariance(model: constantModel(), x: x, t: t, clipDenoised: false)
        #expect(free.predXStart.scalars.contains { abs($0) > 1 })
        #expect(clipped.predXStart.scalars == free.predXStart.scalars.map { min(max($0, -1), 1) })
        let halved = try diffusion.pMeanVariance(
            model: constantModel(), x: x, t: t, clipDenoised: false,
            denoisedFn: { Tensor(shape: $0.shape, scalars: $0.scalars.map { $0 / 2 }) })
        #expect(halved.predXStart.scalars == free.predXStart.scalars.map { $0 / 2 })
        let posterior = try diffusion.qPosteriorMeanVariance(xStart: halved.predXStart, xT: x, t: t)
        #expect(halved.mean.scalars == posterior.mean.scalars)
    }

    @Test func pSampleAddsNoiseExceptAtTheLastStep() throws {
        let x = random(shape, seed: 6), noise = random(shape, seed: 7)
        let last = try diffusion.pSample(model: constantModel(), x: x, t: [0, 0], clipDenoised: false, noise: nil)
        let out = try diffusion.pMeanVariance(model: constantModel(), x: x, t: [0, 0], clipDenoised: false)
        #expect(last.sample.scalars == out.mean.scalars)
        #expect(throws: DiffusionError.missingNoise(shape: shape)) {
            try diffusion.pSample(model: constantModel(), x: x, t: [0, 5], clipDenoised: false, noise: nil)
        }
        let mixed = try diffusion.pSample(model: constantModel(), x: x, t: [0, 5], clipDenoised: false, noise: noise)
        let mixedOut = try diffusion.pMeanVariance(model: constantModel(), x: x, t: [0, 5], clipDenoised: false)
        #expect(Array(mixed.sample.scalars.prefix(48)) == Array(mixedOut.mean.scalars.prefix(48)))
        let i = 48 + 9
        let expected = element(mixedOut.mean, i) + exp(0.5 * element(mixedOut.logVariance, i)) * element(noise, i)
        #expect(element(mixed.sample, i) == expected)
    }

    @Test func conditioningWithZeroGradientChangesNothing() throws {
        let x = random(shape, seed: 8), t = [10, 60], zero = Tensor.zeros(shape), g = random(shape, seed: 9)
        let out = try diffusion.pMeanVariance(model: constantModel(), x: x, t: t, clipDenoised: false)
        #expect(try diffusion.conditionMean(out, gradient: zero).scalars == out.mean.scalars)
        let scored = try diffusion.conditionScore(out, x: x, t: t, gradient: zero)
        #expect(relativeL2(scored.predXStart.scalars, out.predXStart.scalars) < 1e-6)
        #expect(scored.variance.scalars == out.variance.scalars)
        let moved = try diffusion.conditionMean(out, gradient: g)
        #expect(element(moved, 3) == element(out.mean, 3) + element(out.variance, 3) * element(g, 3))
        #expect(throws: DiffusionError.self) { try diffusion.conditionMean(out, gradient: Tensor.zeros([1, 3, 4, 4])) }
    }

    @Test func ddimInversionUndoesADeterministicStep() throws {
        // With ε independent of x, a DDIM (η = 0) step t → t−1 followed by the reverse step t−1 → t is exact.
        let x = random(shape, seed: 10), t = [30, 80]
        let model = constantModel()
        let down = try diffusion.ddimSample(model: model, x: x, t: t, eta: 0, clipDenoised: false, noise: nil)
        let up = try diffusion.ddimReverseSample(model: model, x: down.sample, t: t.map { $0 - 1 }, clipDenoised: false)
        #expect(relativeL2(up.sample.scalars, x.scalars) < 1e-5)
        #expect(throws: DiffusionError.missingNoise(shape: shape)) {
            try diffusion.ddimSample(model: model, x: x, t: t, eta: 0.5, clipDenoised: false, noise: nil)
        }
        // η = 1 gives the DDPM posterior standard deviation √σ̃²_t as σ.
        let noise = random(shape, seed: 11)
        let stochastic = try diffusion.ddimSample(model: model, x: x, t: t, eta: 1, clipDenoised: false, noise: noise)
        let sigma = Float(diffusion.schedule.posteriorVariance[80].squareRoot())
        let withZeroNoise = try diffusion.ddimSample(model: model, x: x, t: t, eta: 1, clipDenoised: false, noise: Tensor.zeros(shape))
        let i = 48 + 2
        #expect(abs((element(stochastic.sample, i) - element(withZeroNoise.sample, i)) / element(noise, i) - sigma) < 1e-4 * sigma)
    }

    @Test func argumentsAreChecked() throws {
        let x = random(shape, seed: 12)
        #expect(throws: DiffusionError.self) { try diffusion.qSample(xStart: x, t: [1], noise: x) }
        #expect(throws: DiffusionError.timestepOutOfRange(100, stepCount: 100)) { try diffusion.qSample(xStart: x, t: [1, 100], noise: x) }
        #expect(throws: DiffusionError.self) { try diffusion.qSample(xStart: x, t: [1, 2], noise: Tensor.zeros([2, 3, 4, 5])) }
        #expect(throws: DiffusionError.self) {
            try diffusion.pMeanVariance(model: { _, _ in Tensor.zeros([2, 6, 4, 5]) }, x: x, t: [1, 2], clipDenoised: false)
        }
    }
}
