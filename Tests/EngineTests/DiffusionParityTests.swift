import Testing
@testable import Engine

/// One `"kind": "diffusion"` manifest entry: its file, case config and tensors.
private struct DiffusionFixture {
    let file: String
    let config: [String: Any]
    let entry: [String: Any]
    let archive: SafeTensorsArchive

    /// Files of every diffusion case in the manifest.
    static var files: [String] {
        Fixtures.files.compactMap { entry in
            guard let config = entry["case"] as? [String: Any], config["kind"] as? String == "diffusion" else { return nil }
            return entry["file"] as? String
        }
    }

    init(file: String) throws {
        let entry = try #require(Fixtures.files.first { $0["file"] as? String == file })
        self.file = file
        self.entry = entry
        config = try #require(entry["case"] as? [String: Any])
        archive = try Fixtures.safetensors(file)
    }

    func int(_ key: String) throws -> Int { try #require(config[key] as? Int, "case key '\(key)'") }
    func string(_ key: String) throws -> String { try #require(config[key] as? String, "case key '\(key)'") }
    func bool(_ key: String) throws -> Bool { try #require(config[key] as? Bool, "case key '\(key)'") }

    func tensor(_ name: String) throws -> Tensor { try archive.tensor(named: name) }
    func doubles(_ name: String) throws -> [Double] { try FixtureScalars.requiredDoubles(file: file, name: name) }
    func integers(_ name: String) throws -> [Int] { try FixtureScalars.integers(file: file, name: name) }

    /// The case's base schedule respaced by `spec`, with `create_gaussian_diffusion`'s variance choice
    /// (learned range if `learn_sigma`, else fixed small/large by `sigma_small`, upstream default false).
    func diffusion(respacing spec: String) throws -> GaussianDiffusion {
        let kwargs = entry["create_gaussian_diffusion_kwargs"] as? [String: Any]
        let sigmaSmall = kwargs?["sigma_small"] as? Bool ?? false
        let variance: GaussianDiffusion.VarianceType = try bool("learn_sigma") ? .learnedRange : (sigmaSmall ? .fixedSmall : .fixedLarge)
        return try GaussianDiffusion(
            schedule: BetaSchedule(named: string("schedule")), baseSteps: int("base_steps"), respacing: spec,
            varianceType: variance, rescaleTimesteps: bool("rescale_timesteps"))
    }
}

/// A stand-in for the U-Net: returns a stored output and records the timesteps it was called with.
private final class RecordingModel {
    let output: Tensor
    var received: [[Float]] = []
    init(output: Tensor) { self.output = output }
    func callAsFunction(_ x: Tensor, _ timesteps: [Float]) -> Tensor {
        received.append(timesteps)
        return output
    }
}

/// Parity of schedules, respacing and sampler steps with guided-diffusion, case by case from manifest.json.
@Suite struct DiffusionParityTests {
    static let files = DiffusionFixture.files
    /// Float64 schedule arrays are recomputed in float64, so they agree to rounding, far below 1e-4.
    static let float64Tolerance = 1e-12

    @Test func manifestHasDiffusionCases() {
        #expect(!Self.files.isEmpty, "no 'diffusion' case in \(Fixtures.directory.path)/manifest.json")
    }

    @Test(arguments: files) func betaScheduleParity(file: String) throws {
        let fx = try DiffusionFixture(file: file)
        var schedules = [(try fx.string("schedule"), try fx.int("base_steps"))]
        if let cosineSteps = fx.config["cosine_steps"] as? Int { schedules.append(("cosine", cosineSteps)) }
        for (name, steps) in schedules {
            let prefix = "\(name)\(steps)_"
            let betas = try BetaSchedule(named: name).betas(steps: steps)
            let reference = try fx.doubles(prefix + "betas_f64")
            #expect(relativeL2Double(betas, reference) <= Self.float64Tolerance, "\(prefix)betas_f64")
            #expect(relativeL2(betas.map(Float.init), try fx.tensor(prefix + "betas").scalars) <= parityTolerance, "\(prefix)betas")
            if let cumprod = try FixtureScalars.doubles(file: file, name: prefix + "alphas_cumprod_f64") {
                let schedule = try DiffusionSchedule(betas: betas)
                #expect(relativeL2Double(schedule.alphasCumprod, cumprod) <= Self.float64Tolerance, "\(prefix)alphas_cumprod_f64")
            }
        }
    }

    @Test(arguments: files) func respacingParity(file: String) throws {
        let fx = try DiffusionFixture(file: file)
        let respacings = try #require(fx.config["respacings"] as? [[String: Any]])
        #expect(!respacings.isEmpty)
        let maps = fx.entry["respacings"] as? [String: Any]
        let roundTrips = fx.entry["diffuseit_unscale_timestep_roundtrip"] as? [String: Any]
        for item in respacings {
            let spec = try #require(item["respacing"] as? String), prefix = try #require(item["prefix"] as? String)
            let diffusion = try fx.diffusion(respacing: spec)
            let kept = try TimestepRespacing.keptTimesteps(baseStepCount: fx.int("base_steps"), spec: spec)
            #expect(kept == (try fx.integers(prefix + "_timesteps")), "\(spec): kept timesteps")
            #expect(diffusion.timestepMap == kept, "\(spec): timestep map")
            if let map = (maps?[spec] as? [String: Any])?["timestep_map"] as? [Int] {
                #expect(map == kept, "\(spec): manifest timestep_map")
            }
            let s = diffusion.schedule
            #expect(relativeL2Double(s.betas, try fx.doubles(prefix + "_betas_f64")) <= Self.float64Tolerance, "\(spec) betas")
            #expect(relativeL2(s.betas.map(Float.init), try fx.tensor(prefix + "_betas").scalars) <= parityTolerance, "\(spec) betas f32")
            #expect(relativeL2Double(s.alphasCumprod, try fx.doubles(prefix + "_alphas_cumprod_f64")) <= Self.float64Tolerance, "\(spec) alphas_cumprod")
            #expect(
                relativeL2Double(s.posteriorLogVarianceClipped, try fx.doubles(prefix + "_posterior_log_variance_clipped_f64"))
                    <= Self.float64Tolerance, "\(spec) posterior_log_variance_clipped")
            // Model timesteps: the original index (rescaled), as stored in the float32 copy of the map.
            let modelTimesteps = try diffusion.modelTimesteps(Array(0..<diffusion.stepCount))
            #expect(modelTimesteps == (try fx.tensor(prefix + "_timesteps_f32").scalars), "\(spec): model timesteps")
            // DiffuseIT's unscale_timestep round trip: as many mismatches as upstream reports.
            if let expected = (roundTrips?[spec] as? [String: Any])?["num_mismatches"] as? Int {
                let mismatches = modelTimesteps.enumerated().filter { diffusion.respacedIndex(fromModelTimestep: $0.element) != $0.offset }
                #expect(mismatches.count == expected, "\(spec): unscale_timestep mismatches")
            }
        }
    }

    @Test(arguments: files) func qSampleParity(file: String) throws {
        let fx = try DiffusionFixture(file: file)
        let diffusion = try fx.diffusion(respacing: fx.string("pmv_respacing"))
        let t = try fx.integers("pmv_t")
        let out = try diffusion.qSample(xStart: fx.tensor("q_x_start"), t: t, noise: fx.tensor("q_noise"))
        let err = relativeL2(out.scalars, try fx.tensor("q_sample").scalars)
        #expect(err <= parityTolerance, "q_sample rel-L2 \(err)")
    }

    @Test(arguments: files) func pMeanVarianceParity(file: String) throws {
        let fx = try DiffusionFixture(file: file)
        let diffusion = try fx.diffusion(respacing: fx.string("pmv_respacing"))
        let x = try fx.tensor("pmv_x_t"), t = try fx.integers("pmv_t")
        if let configured = fx.config["pmv_t"] as? [Int] { #expect(t == configured) }
        let variants = try #require(fx.config["clip_denoised_variants"] as? [Bool])
        #expect(!variants.isEmpty)
        for clip in variants {
            let model = RecordingModel(output: try fx.tensor("pmv_model_output"))
            let out = try diffusion.pMeanVariance(model: model.callAsFunction, x: x, t: t, clipDenoised: clip)
            let prefix = "pmv_clip\(clip ? "True" : "False")_"
            let outputs = [("mean", out.mean), ("variance", out.variance), ("log_variance", out.logVariance), ("pred_xstart", out.predXStart)]
            for (name, tensor) in outputs {
                let reference = try fx.tensor(prefix + name)
                #expect(tensor.shape == reference.shape, "\(prefix)\(name) shape")
                let err = relativeL2(tensor.scalars, reference.scalars)
                #expect(err <= parityTolerance, "\(prefix)\(name) rel-L2 \(err)")
            }
            #expect(model.received == [try fx.tensor("pmv_model_t_received").scalars], "timesteps the model received")
        }
    }

    @Test(arguments: files) func pSampleParity(file: String) throws {
        let fx = try DiffusionFixture(file: file)
        let diffusion = try fx.diffusion(respacing: fx.string("pmv_respacing"))
        let x = try fx.tensor("pmv_x_t"), t = try fx.integers("pmv_t")
        let clip = try fx.bool("p_sample_clip_denoised")
        let noise = try fx.tensor("p_sample_noise"), g = try fx.tensor("cond_gradient")
        let model = RecordingModel(output: try fx.tensor("pmv_model_output"))
        let plain = try diffusion.pSample(model: model.callAsFunction, x: x, t: t, clipDenoised: clip, noise: noise)
        try expectParity(plain.sample, fx, "p_sample_sample")
        try expectParity(plain.predXStart, fx, "p_sample_pred_xstart")

        var condTimesteps: [[Float]] = []
        let guided = try diffusion.pSample(
            model: model.callAsFunction, x: x, t: t, clipDenoised: clip, noise: noise,
            gradient: { _, timesteps in condTimesteps.append(timesteps); return g })
        try expectParity(guided.sample, fx, "p_sample_cond_sample")
        #expect(condTimesteps == [try fx.tensor("cond_fn_t_received").scalars], "timesteps cond_fn received")
    }

    @Test(arguments: files) func ddimSampleParity(file: String) throws {
        let fx = try DiffusionFixture(file: file)
        let diffusion = try fx.diffusion(respacing: fx.string("ddim_respacing"))
        let x = try fx.tensor("pmv_x_t"), t = try fx.integers("ddim_t")
        if let configured = fx.config["ddim_t"] as? [Int] { #expect(t == configured) }
        // The manifest records one clip flag for the sampler steps.
        let clip = try (fx.config["ddim_clip_denoised"] as? Bool) ?? fx.bool("p_sample_clip_denoised")
        let g = try fx.tensor("cond_gradient")
        let etas = try #require(fx.config["ddim_etas"] as? [[String: Any]])
        #expect(!etas.isEmpty)
        for item in etas {
            let eta = try #require((item["eta"] as? Double).map(Float.init)), prefix = try #require(item["prefix"] as? String)
            // Stored only where the step uses it (η > 0); a missing one that is needed fails the step.
            let noise = fx.archive.shape(of: prefix + "_noise") != nil ? try fx.tensor(prefix + "_noise") : nil
            let model = RecordingModel(output: try fx.tensor("pmv_model_output"))
            let plain = try diffusion.ddimSample(model: model.callAsFunction, x: x, t: t, eta: eta, clipDenoised: clip, noise: noise)
            try expectParity(plain.sample, fx, prefix + "_sample")
            try expectParity(plain.predXStart, fx, prefix + "_pred_xstart")
            let guided = try diffusion.ddimSample(
                model: model.callAsFunction, x: x, t: t, eta: eta, clipDenoised: clip, noise: noise, gradient: { _, _ in g })
            try expectParity(guided.sample, fx, prefix + "_cond_sample")
            try expectParity(guided.predXStart, fx, prefix + "_cond_pred_xstart")
        }
    }

    private func expectParity(_ tensor: Tensor, _ fx: DiffusionFixture, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reference = try fx.tensor(name)
        #expect(tensor.shape == reference.shape, "\(name) shape", sourceLocation: sourceLocation)
        let err = relativeL2(tensor.scalars, reference.scalars)
        #expect(err <= parityTolerance, "\(name) rel-L2 \(err)", sourceLocation: sourceLocation)
    }
}
