import Engine

/// The guided steps of one output, in order (upstream's `p_sample_loop_progressive` /
/// `ddim_sample_loop_progressive` with `skip_timesteps` and an init image): with resampling (guided
/// DDPM), `resamples` guided steps at k0 re-noised back to k0 between them (upstream hard-codes 10
/// and ignores `--resample_num`; here the count is honoured), then one step per index k0 − 1 … 0;
/// without (DDIM, or a refinement from a given noise level), one step per index k0 … 0.
struct SamplingSchedule: Sendable, Equatable {
    struct Entry: Sendable, Equatable {
        /// The respaced index of the step.
        var k: Int
        /// Whether the step is one of the repeats at k0.
        var resampling: Bool
        /// Whether the sample is re-noised back to k0 after the step (all repeats but the last).
        var renoise: Bool
    }

    /// k0, the first (noisiest) index.
    let startIndex: Int
    let entries: [Entry]

    init(startIndex k0: Int, resamples: Int) {
        startIndex = k0
        var entries: [Entry] = []
        if resamples > 0 {
            for r in 0..<resamples { entries.append(Entry(k: k0, resampling: true, renoise: r < resamples - 1)) }
            for k in stride(from: k0 - 1, through: 0, by: -1) { entries.append(Entry(k: k, resampling: false, renoise: false)) }
        } else {
            for k in stride(from: k0, through: 0, by: -1) { entries.append(Entry(k: k, resampling: false, renoise: false)) }
        }
        self.entries = entries
    }

    /// The schedule a run's parameters give on an N-step diffusion; nil when the skip leaves no step.
    init?(parameters: DiffuseITParameters, stepCount: Int) {
        guard let k0 = parameters.startIndex(stepCount: stepCount) else { return nil }
        self.init(startIndex: k0, resamples: parameters.resamples)
    }

    /// Guided steps of one output without restarts.
    var stepCount: Int { entries.count }
}

/// What the sampling loop advances: the whole image (one tensor) or the fused tiles (canvases).
protocol GuidedSamplingState {
    /// Starts an attempt: x = q_sample(initial image, k0) with noise `z`.
    mutating func start(noise z: NormalField) throws
    /// One guided step from x at index `k` into the next sample (`noise`: the DDPM noise, nil at
    /// k = 0 and for DDIM); `isLast` marks the step whose x̂₀ is the output. Returns the weighted
    /// range loss the restart test reads.
    mutating func step(k: Int, noise: NormalField?, views: [[CLIPAugmentation]]?, isLast: Bool) throws -> Float
    /// Re-noises the next sample back to k0 (between resampling repeats).
    mutating func renoiseNext(_ noise: NormalField) throws
    /// The next sample becomes x.
    mutating func advance()
}

/// DiffuseIT's sampling loop, the one both the whole-image and the tiled samplers run: the schedule's
/// steps with upstream's draws from one generator (the step's noise, then its CLIP views, then the
/// re-noise), and range restart with a bound. When a step below k0 fires the test (and k > 0), the
/// whole run restarts with new noise at most `max_restarts` times (upstream has no bound and can
/// loop forever); past the bound the run continues and `warn` says so once.
struct GuidedSampling {
    let parameters: DiffuseITParameters
    let schedule: SamplingSchedule
    /// Text mode's guidance, whose members get `aug_num` random views per step.
    let clip: CLIPGuidance?
    /// The side of the square image the views are drawn for (the model size).
    let viewSize: Int

    func run(_ state: inout some GuidedSamplingState, rng: inout PhiloxGenerator, warn: (String) -> Void) throws {
        let p = parameters, k0 = schedule.startIndex, last = schedule.entries.count - 1
        var budget = RangeRestartBudget(p)
        attempts: while true {
            try state.start(noise: rng.normalField())
            for (i, entry) in schedule.entries.enumerated() {
                let noise = !p.ddim && (entry.resampling || entry.k > 0) ? rng.normalField() : nil
                let views = clip?.randomViews(count: p.augNum, size: viewSize, using: &rng)
                let weightedRange = try state.step(k: entry.k, noise: noise, views: views, isLast: i == last)
                if !entry.resampling, p.useRangeRestart, entry.k < k0, entry.k > 0, weightedRange > p.restartThreshold,
                    budget.shouldRestart(atStep: entry.k, warn: warn)
                {
                    continue attempts
                }
                if entry.renoise { try state.renoiseNext(rng.normalField()) }
                state.advance()
            }
            return
        }
    }
}

/// DiffuseIT on one model-size image (whole mode, and detail mode's first pass): the sampling loop
/// over a tensor, each step a ``DiffuseITGuidance`` step; the output is the last step's x̂₀ (DDPM: the
/// unguided prediction at k = 0, as upstream; DDIM: the guided one).
struct DiffuseITSampler {
    let guidance: DiffuseITGuidance

    var schedule: SamplingSchedule { SamplingSchedule(startIndex: guidance.startIndex, resamples: guidance.parameters.resamples) }

    /// Guided steps one output takes without restarts.
    var stepsPerOutput: Int { schedule.stepCount }

    /// One output `[1, 3, S, S]` in [−1, 1]-ish. `progress(done)` after every step (restarts begin
    /// again at 0).
    func run(
        rng: inout PhiloxGenerator, progress: (Int) -> Void = { _ in }, estimates: (any EstimateSink)? = nil, warn: (String) -> Void = { _ in }
    ) throws -> Tensor {
        let sampling = GuidedSampling(parameters: guidance.parameters, schedule: schedule, clip: guidance.clip, viewSize: guidance.source.shape[2])
        // The state holds the callback only while the loop runs.
        let output = try withoutActuallyEscaping(progress) { progress in
            var state = State(guidance: guidance, progress: progress, estimates: estimates)
            try sampling.run(&state, rng: &rng, warn: warn)
            return state.output
        }
        guard let output else { throw DiffuseITError.badParameter("no sampling step to run") }
        return output
    }

    private struct State: GuidedSamplingState {
        let guidance: DiffuseITGuidance
        let progress: (Int) -> Void
        let estimates: (any EstimateSink)?
        var x = Tensor.zeros([1]), next = Tensor.zeros([1])
        var output: Tensor?
        var done = 0

        mutating func start(noise z: NormalField) throws {
            x = try guidance.diffusion.qSample(xStart: guidance.source, t: [guidance.startIndex], noise: z.tensor(guidance.source.shape))
            done = 0
        }

        mutating func step(k: Int, noise: NormalField?, views: [[CLIPAugmentation]]?, isLast: Bool) throws -> Float {
            let step = try guidance.step(x, k: k, noise: noise?.tensor(guidance.source.shape), views: views)
            done += 1
            progress(done)
            next = step.sample
            if isLast { output = step.outputXStart }
            if let estimates, estimates.wantsNextEstimate() { try estimates.estimate(step.outputXStart) }
            return step.weightedRange
        }

        mutating func renoiseNext(_ noise: NormalField) throws {
            next = guidance.renoise(next, noise: noise.tensor(guidance.source.shape))
        }

        mutating func advance() { x = next }
    }
}
