import Engine

/// DiffuseIT's sampling loop (upstream `p_sample_loop_progressive` / `ddim_sample_loop_progressive`
/// with `skip_timesteps` and an init image).
///
/// 1. x = q_sample(source, k0, z).
/// 2. DDPM only: `resampleCount` guided steps at k0, re-noised back to k0 between them (upstream
///    hard-codes 10 and ignores `--resample_num`; here the count is honoured, default 10).
/// 3. One guided step per index k0 − 1 … 0 (DDIM: k0 … 0).
/// 4. The output is the last step's x̂₀ (DDPM: the unguided prediction at k = 0, as upstream;
///    DDIM: the guided one).
///
/// Range restart: when a step below k0 fires the test (and k > 0), the whole run restarts with new
/// noise — at most `maxRestarts` times (upstream has no bound and can loop forever); past the bound
/// the run continues and `warn` says so once.
public struct DiffuseITSampler {
    public let guidance: DiffuseITGuidance

    public init(guidance: DiffuseITGuidance) {
        self.guidance = guidance
    }

    /// Guided steps one output takes without restarts.
    public var stepsPerOutput: Int {
        let k0 = guidance.startIndex
        return guidance.parameters.ddim ? k0 + 1 : k0 + guidance.parameters.resampleCount
    }

    /// One output `[1, 3, S, S]` in [−1, 1]-ish. `progress(done, total)` after every step.
    public func run(
        rng: inout PhiloxGenerator, progress: (Int, Int) -> Void = { _, _ in }, warn: (String) -> Void = { _ in }
    ) throws -> Tensor {
        let p = guidance.parameters, k0 = guidance.startIndex
        let shape = guidance.source.shape
        var restartBudget = RangeRestartBudget(p)
        var done = 0
        while true {
            let z = rng.normalField().tensor(shape)
            var x = try guidance.diffusion.qSample(xStart: guidance.source, t: [k0], noise: z)
            var first = k0
            var last: DiffuseITGuidance.Step?
            if !p.ddim {
                for r in 0..<p.resampleCount {
                    let noise = rng.normalField().tensor(shape)
                    let step = try guidance.step(x, k: k0, noise: noise, views: drawViews(&rng))
                    done += 1
                    progress(done, stepsPerOutput)
                    x = r < p.resampleCount - 1 ? guidance.renoise(step.sample, noise: rng.normalField().tensor(shape)) : step.sample
                    last = step
                }
                first = k0 - 1
            }
            var restarted = false
            for k in stride(from: first, through: 0, by: -1) {
                let noise = (!p.ddim && k > 0) ? rng.normalField().tensor(shape) : nil
                let step = try guidance.step(x, k: k, noise: noise, views: drawViews(&rng))
                done += 1
                progress(done, stepsPerOutput)
                if step.restart && k > 0 {
                    if restartBudget.shouldRestart(atStep: k, warn: warn) {
                        restarted = true
                        break
                    }
                }
                x = step.sample
                last = step
            }
            if restarted { done = 0; continue }
            guard let last else { throw DiffuseITError.badParameter("no sampling step to run") }
            return last.outputXStart
        }
    }

    /// Random CLIP views for every ensemble member (nil in image mode).
    func drawViews(_ rng: inout PhiloxGenerator) -> [[CLIPAugmentation]]? {
        guard let clip = guidance.clip else { return nil }
        let size = guidance.source.shape[2]
        return clip.resolutions.map { _ in
            (0..<guidance.parameters.augNum).map { _ in CLIPAugmentation.random(size: size, using: &rng) }
        }
    }
}
