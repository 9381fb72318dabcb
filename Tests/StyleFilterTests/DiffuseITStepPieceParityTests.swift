import Engine
import Foundation
import Testing
@testable import StyleFilter

/// Parts of the guided-step fixtures that need no network: CLIP view geometry, the FlexIT target
/// from stored text features, the content-weight factor, the re-noising step.
@Suite struct DiffuseITStepPieceParityTests {
    @Test func manifestHasStepCases() {
        #expect(!StepCase.all.isEmpty, "no diffuseit_steps case in the fixture manifest")
    }

    /// The augmented CLIP views of x_mix (rotation, resized crop, flip, normalisation) with the
    /// stored parameters.
    @Test(arguments: StepCase.textCases)
    func clipViewsParity(_ c: StepCase) throws {
        let views = try c.tensor("clip_views")
        let resolution = views.shape[2]
        let xMix = Variable(try c.tensor("x_mix"))
        let size = xMix.shape[2]
        let augs = try c.augmentations().map { CLIPAugmentation(angle: $0.angle, crop: (top: $0.crop.0, left: $0.crop.1, height: $0.crop.2, width: $0.crop.3), flip: $0.flip) }
        let produced = CLIPPreprocessing.normalize(
            Ops.concat(augs.map { Ops.resample(xMix.unitRange, $0.map(size: size, resolution: resolution)) }, axis: 0)).value
        let err = relativeL2(produced.scalars, views.scalars)
        #expect(err <= parityTolerance, "clip views rel-L2 \(err)")
        print("\(c) clip_views rel-L2 \(err)")
    }

    /// E_S, E_T from the 79 template features, and the FlexIT target from E_T, E_S, E_I0.
    @Test(arguments: Fixtures.entries(kind: "diffuseit_steps").compactMap { $0["file"] as? String })
    func textTargetParity(_ file: String) throws {
        guard Fixtures.has(file, "txt_template_features_source") else { return }
        let eS = CLIPGuidance.textEmbedding(templateFeatures: try Fixtures.tensor(file, "txt_template_features_source"))
        let eT = CLIPGuidance.textEmbedding(templateFeatures: try Fixtures.tensor(file, "txt_template_features_target"))
        #expect(try Fixtures.tensor(file, "txt_template_features_source").shape[0] == PromptTemplates.imageNet.count)
        let errS = relativeL2(eS.scalars, try Fixtures.tensor(file, "txt_E_S").scalars)
        let errT = relativeL2(eT.scalars, try Fixtures.tensor(file, "txt_E_T").scalars)
        let target = CLIPGuidance.flexITTarget(targetText: try Fixtures.tensor(file, "txt_E_T").reshaped([eT.count]),
            sourceText: try Fixtures.tensor(file, "txt_E_S").reshaped([eS.count]), sourceImage: try Fixtures.tensor(file, "txt_E_I0"))
        let errTarget = relativeL2(target.scalars, try Fixtures.tensor(file, "txt_tgt").scalars)
        #expect(errS <= parityTolerance && errT <= parityTolerance && errTarget <= parityTolerance, "E_S \(errS), E_T \(errT), tgt \(errTarget)")
    }

    @Test(arguments: StepCase.all)
    func contentWeightParity(_ c: StepCase) throws {
        let flags = try #require(c.entry["flags"] as? [String: Bool])
        let lossPrev: Float? = c.has("loss_prev") ? try c.tensor("loss_prev").scalars[0] : nil
        let frac = ImageLosses.contentWeightFactor(
            previousCLIPLoss: c.isTextMode ? lossPrev : nil, progressiveContrast: flags["use_prog_contrast"] ?? false,
            regularizeContent: flags["regularize_content"] ?? false)
        let expected = (c.entry["frac_cont"] as? NSNumber)?.floatValue
        #expect(frac == expected)
        if c.has("frac_cont") { #expect(frac == (try c.tensor("frac_cont").scalars[0])) }
    }

    /// The re-noising between the resampling repeats (β at index k0 − 1 of the case's respacing).
    @Test(arguments: Fixtures.entries(kind: "diffuseit_steps").compactMap { $0["file"] as? String })
    func renoiseParity(_ file: String) throws {
        let entry = try #require(Fixtures.files.first { $0["file"] as? String == file })
        guard let info = entry["renoise"] as? [String: Any],
            let from = info["from_case"] as? String, let cases = entry["cases"] as? [String: Any],
            let fromCase = cases[from] as? [String: Any], let respacing = fromCase["timestep_respacing"] as? String,
            let skip = fromCase["skip_timesteps"] as? Int, file == entry["file"] as? String
        else { Issue.record("renoise entry incomplete"); return }
        let diffusion = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: respacing)
        let k0 = diffusion.stepCount - skip - 1
        let tArg = try FixtureScalars.integers(file: file, name: "renoise_t")[0]
        #expect(tArg == k0 - 1)
        let beta = try FixtureScalars.requiredDoubles(file: file, name: "renoise_beta_f64")[0]
        #expect(abs(diffusion.schedule.betas[k0 - 1] - beta) < 1e-12)
        let out = DiffuseITGuidance.renoise(try Fixtures.tensor(file, "renoise_x"), noise: try Fixtures.tensor(file, "renoise_noise"),
            diffusion: diffusion, startIndex: k0)
        let err = relativeL2(out.scalars, try Fixtures.tensor(file, "renoise_out").scalars)
        #expect(err <= parityTolerance, "renoise rel-L2 \(err)")
    }
}

