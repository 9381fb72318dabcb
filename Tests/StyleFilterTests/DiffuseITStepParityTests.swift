import Engine
import Foundation
import Testing
@testable import StyleFilter

/// Guided reverse steps against upstream's `cond_fn` + `p_sample` (every case of every
/// `diffuseit_steps` entry): U-Net output, posterior, noise mix, each loss term and its own gradient,
/// the total gradient, the conditioned mean, the next sample and the restart flag.
@Suite struct DiffuseITStepParityTests {
    struct Built {
        let guidance: DiffuseITGuidance
        let views: [[CLIPAugmentation]]?
    }

    static func build(_ c: StepCase) throws -> Built {
        let cfg = c.config, e = c.entry
        let flags = try #require(e["flags"] as? [String: Bool])
        var p = DiffuseITParameters()
        p.timestepRespacing = try #require(e["timestep_respacing"] as? String)
        p.skipTimesteps = try #require(e["skip_timesteps"] as? Int)
        p.diffIter = try #require(e["diff_iter"] as? Int)
        if let a = e["aug_num"] as? Int { p.augNum = a }
        p.useNoiseAugAll = flags["use_noise_aug_all"] ?? false
        p.useRangeRestart = flags["use_range_restart"] ?? false
        p.regularizeContent = flags["regularize_content"] ?? false
        p.useProgContrast = flags["use_prog_contrast"] ?? false
        p.useColormatch = flags["use_colormatch"] ?? false
        let diffusion = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: p.timestepRespacing)
        #expect(diffusion.stepCount - p.skipTimesteps - 1 == e["total_steps_k0"] as? Int)

        let unet = try FixtureNetworks.unet(file: try #require(cfg["unet_weights_file"] as? String), config: try #require(cfg["unet_config"] as? [String: Any]))
        let dinoConfig = cfg["dino_config"] as? [String: Any]
        let dinoNet = try FixtureNetworks.dino(file: try #require(cfg["dino_weights_file"] as? String), heads: dinoConfig?["num_heads"] as? Int)
        let dino = DINOLosses(model: dinoNet, globalPatchSize: try #require(cfg["dino_global_patch_size"] as? Int))
        let source = try Fixtures.tensor(c.file, "source")
        var clip: CLIPGuidance?
        var views: [[CLIPAugmentation]]?
        if c.isTextMode {
            let model = try FixtureNetworks.clip(file: try #require(cfg["clip_weights_file"] as? String), config: cfg["clip_config"] as? [String: Any])
            clip = try CLIPGuidance(models: [model], targetText: try #require(cfg["target_prompt"] as? String),
                sourceText: try #require(cfg["source_prompt"] as? String), sourceImage: source, tokenizer: CLIPTokenizer.shared)
            views = [try c.augmentations().map { CLIPAugmentation(angle: $0.angle, crop: (top: $0.crop.0, left: $0.crop.1, height: $0.crop.2, width: $0.crop.3), flip: $0.flip) }]
        }
        let guidance = try DiffuseITGuidance(
            parameters: p, diffusion: diffusion, unet: unet, dino: dino, clip: clip, source: source,
            style: c.isTextMode ? nil : try Fixtures.tensor(c.file, "target"))
        if c.isTextMode {
            let errTarget = relativeL2(guidance.clip!.members[0].target.scalars, try Fixtures.tensor(c.file, "txt_tgt").scalars)
            #expect(errTarget <= parityTolerance, "txt_tgt rel-L2 \(errTarget)")
            let err0 = relativeError(guidance.previousCLIPLoss!, try Fixtures.tensor(c.file, "txt_loss_prev_init").scalars[0])
            #expect(err0 <= parityTolerance, "txt_loss_prev_init rel \(err0)")
            guidance.previousCLIPLoss = try c.tensor("loss_prev").scalars[0]
        }
        // Upstream's `prev` image of the case: the state is its CLS token.
        guidance.previousCLS = try dino.features(Variable(try c.tensor("prev"))).cls.value
        return Built(guidance: guidance, views: views)
    }

    static func expectClose(_ a: Tensor, _ c: StepCase, _ name: String) throws {
        let err = relativeL2(a.scalars, try c.tensor(name).scalars)
        #expect(err <= parityTolerance, "\(c) \(name) rel-L2 \(err)")
        print("\(c) \(name): rel-L2 \(err)")
    }

    @Test(arguments: StepCase.all)
    func guidedStepParity(_ c: StepCase) throws {
        let b = try Self.build(c)
        let g = b.guidance
        let k = try FixtureScalars.integers(file: c.file, name: "\(c.name)_t")[0]
        let xT = try c.tensor("x_t")
        #expect(try g.diffusion.modelTimesteps([k]) == [try c.tensor("model_t").scalars[0]])

        // Each term and its own gradient w.r.t. the image it reads, and the total w.r.t. x̂₀ (all
        // before the step, which advances the state).
        let predXStart = try c.tensor("pred_xstart"), xMix = try c.tensor("x_mix"), xIn = try c.tensor("x_in")
        let termInputs: [DiffuseITLoss.Term: Tensor] = [.clip: xMix, .range: predXStart]
        for term in DiffuseITLoss.Term.allCases where c.has("loss_\(term.rawValue)") {
            let input = termInputs[term] ?? xIn
            let (value, grad) = try valueAndGradient(input) { v in
                let value = try Self.term(term, of: g, image: v, xT: xT, k: k, views: b.views)
                return try #require(value)
            }
            let errV = relativeError(value, try c.tensor("loss_\(term.rawValue)").scalars[0])
            #expect(errV <= parityTolerance, "\(c) loss_\(term.rawValue) rel \(errV)")
            try Self.expectClose(grad, c, "grad_\(term.rawValue)")
        }
        let tape = Tape()
        let x0 = tape.watch(predXStart)
        let eval = try g.evaluateLoss(predXStart: x0, x: Variable(xT), k: k, views: b.views)
        #expect(Set(eval.terms.keys.map(\.rawValue)) == Set(c.entry["active_terms"] as? [String] ?? []))
        let total = try #require(eval.total)
        let errTotal = relativeError(total.value.scalars[0], try c.tensor("loss_total").scalars[0])
        #expect(errTotal <= parityTolerance, "\(c) loss_total rel \(errTotal)")
        try Self.expectClose(tape.gradients(of: total, cotangent: Tensor(shape: [], repeating: 1), wrt: [x0])[0], c, "dloss_dpred_xstart")
        #expect(eval.contentWeight == (c.entry["frac_cont"] as? NSNumber)?.floatValue)
        if c.has("frac_cont") { #expect(eval.contentWeight == (try c.tensor("frac_cont").scalars[0])) }

        let step = try g.step(xT, k: k, noise: try c.tensor("noise"), views: b.views)
        try Self.expectClose(step.modelOutput, c, "model_output")
        try Self.expectClose(step.unguided.predXStart, c, "pred_xstart")
        try Self.expectClose(step.unguided.mean, c, "mean")
        try Self.expectClose(step.unguided.variance, c, "variance")
        try Self.expectClose(step.unguided.logVariance, c, "log_variance")
        try Self.expectClose(step.xMix, c, "x_mix")
        try Self.expectClose(step.xIn, c, "x_in")
        try Self.expectClose(step.gradient, c, "cond_grad")
        try Self.expectClose(step.conditionedMean, c, "mean_cond")
        try Self.expectClose(step.sample, c, "sample")
        #expect(step.restart == (try FixtureScalars.integers(file: c.file, name: "\(c.name)_flag")[0] == 1), "\(c) restart flag")
        for (term, value) in step.terms {
            let err = relativeError(value, try c.tensor("loss_\(term.rawValue)").scalars[0])
            #expect(err <= parityTolerance, "\(c) step loss_\(term.rawValue) rel \(err)")
        }
        if c.isTextMode {
            let pred = try CLIPGuidance.imageEmbedding(g.clip!.members[0].model, image: Variable(xMix), views: b.views![0]).value
            try Self.expectClose(pred, c, "clip_pred")
            let errPrev = relativeError(g.previousCLIPLoss!, try c.tensor("loss_prev_out").scalars[0])
            #expect(errPrev <= parityTolerance, "\(c) loss_prev_out rel \(errPrev)")
        }
    }

    /// One unweighted term of `g`'s loss for `image`, as upstream's grad_* entries define it.
    static func term(_ term: DiffuseITLoss.Term, of g: DiffuseITGuidance, image: Variable, xT: Tensor, k: Int,
                     views: [[CLIPAugmentation]]?) throws -> Variable? {
        switch term {
        case .clip: return try g.clip?.loss(image, views: views)
        case .range: return ImageLosses.range(image)
        case .mseTrg: return g.style.map { ImageLosses.mse(image, $0) }
        case .id: return try g.loss.identity.map { try $0(image) }
        case .ssim, .contra, .dirCls, .trgCls:
            guard let dino = g.dino else { return nil }
            let source = try dino.reference(g.source)
            let styleCLS = try g.style.map { try dino.reference($0).cls }
            let t = try dino.terms(image, source: source, previousCLS: g.previousCLS, styleCLS: styleCLS)
            switch term {
            case .ssim: return t.selfSimilarity
            case .contra: return t.contrastive
            case .dirCls: return t.semanticDivergence
            default: return t.style
            }
        }
    }
}
