import Engine

/// What a `style` run will do, for `--dry-run`: steps, network passes and an estimated time.
package struct StylePlan: Sendable {
    package let imageMode: Bool
    package let parameters: DiffuseITParameters
    package let models: StyleModelFiles
    package let iterations: Int
    /// Model files that are not there yet (the plan uses their catalogue architectures).
    package var missing: [String] = []
    /// The matrix products' precision the run will use (its steps are faster in bf16).
    package var precision: StylePrecision = .fp32

    package init(imageMode: Bool, parameters: DiffuseITParameters, models: StyleModelFiles, iterations: Int) {
        self.imageMode = imageMode
        self.parameters = parameters
        self.models = models
        self.iterations = iterations
    }

    /// Respaced step count N of the schedule.
    var respacedSteps: Int? { parameters.respacedStepCount }

    /// Guided steps per output (without restarts).
    var guidedStepsPerOutput: Int? {
        respacedSteps.flatMap { SamplingSchedule(parameters: parameters, stepCount: $0)?.stepCount }
    }

    /// Seconds per fp32 guided step at 256x256 measured on an idle 2-core machine (BENCHMARKS.md, 2026-12-05,
    /// "Winograd F(4x4, 3x3)": AMD EPYC Zen 2, OpenBLAS sgemm at ~180 GFLOP/s, `step-image runs=2
    /// reference=direct`: 17.5 s, against 22.4 s that morning with F(2x2, 3x3) alone and 30.6 s with the U-Net's
    /// convolutions in their direct form), and the extra cost of one CLIP ViT-B/32-sized view (`clip-b32-grad`:
    /// 0.15-0.16 s). Larger CLIP models (RN50x16 at 384 px) cost more per view; the estimate is a lower bound for them.
    static let secondsPerImageStep = 17.5
    static let secondsPerCLIPView = 0.15
    /// A faces-mode step (`step-faces`: the FFHQ U-Net, a fifth of the ImageNet one's parameters, plus
    /// DINO ViT-B/8 and ArcFace IR-SE-50, each forward + backward): 5.9 s in the same session.
    static let secondsPerFacesStep = 5.9
    /// The same in bf16, on an AVX512-BF16 machine (2 vCPU Zen 4, 2026-12-05: `step-image` 17.2 s, `step-faces`
    /// 4.8 s; `clip-b32-grad` 0.121 s; bf16 products keep the direct convolutions).
    static let bf16SecondsPerImageStep = 17.2, bf16SecondsPerCLIPView = 0.12, bf16SecondsPerFacesStep = 4.8

    var faces: Bool { parameters.useFFHQ }

    /// One guided step's U-Net and DINO (and, in faces mode, ArcFace) passes in the run's precision.
    var secondsPerNetworkStep: Double {
        let bf16 = precision == .bf16
        return faces ? (bf16 ? Self.bf16SecondsPerFacesStep : Self.secondsPerFacesStep) : (bf16 ? Self.bf16SecondsPerImageStep : Self.secondsPerImageStep)
    }

    /// One CLIP view (text mode) in the run's precision.
    var secondsPerCLIPViewPass: Double { precision == .bf16 ? Self.bf16SecondsPerCLIPView : Self.secondsPerCLIPView }

    var estimatedSecondsPerStep: Double {
        secondsPerNetworkStep + (imageMode ? 0 : secondsPerCLIPViewPass * Double(models.clip.count * parameters.augNum))
    }

    /// A multi-line human-readable plan.
    package var description: String {
        let p = parameters
        var lines: [String] = []
        lines.append("style plan (\(imageMode ? "image-guided" : "text-guided")\(faces ? ", faces" : ""), \(p.ddim ? "DDIM eta 0" : "guided DDPM"))")
        lines.append("  U-Net: \(models.unet)")
        lines.append("  DINO:  \(models.dino)")
        for m in models.clip { lines.append("  CLIP:  \(m.name) \(m.path)") }
        if let arcface = models.arcface { lines.append("  ArcFace: \(arcface)") }
        for file in missing { lines.append("  not installed (planned from the catalogue's architecture): \(file)") }
        let n = respacedSteps.map(String.init) ?? "?"
        lines.append("  schedule: respacing \(p.timestepRespacing) (N = \(n)), skip \(p.skipTimesteps), resampling \(p.ddim ? 0 : p.resampleCount), diff_iter \(p.diffIter)")
        lines.append("  weights: " + [
            imageMode ? "lambda_trg \(p.lambdaTrg), l2_trg_lambda \(p.l2TrgLambda)" : "clip_guidance_lambda \(p.clipGuidanceLambda), aug_num \(p.augNum)",
            "lambda_ssim \(p.lambdaSSIM)", "lambda_contra_ssim \(p.lambdaContraSSIM)", "lambda_dir_cls \(p.lambdaDirCls)",
            "range_lambda \(p.rangeLambda)", "vit_lambda \(p.vitLambda)",
        ].joined(separator: ", ") + (faces ? ", id_lambda \(p.idLambda)" : ""))
        lines.append("  flags: range_restart \(p.useRangeRestart) (threshold \(p.restartThreshold), max \(p.maxRestarts)), noise_aug_all \(p.useNoiseAugAll), regularize_content \(p.regularizeContent), prog_contrast \(p.useProgContrast), colormatch \(imageMode && p.useColormatch)")
        if let steps = guidedStepsPerOutput {
            let clipPasses = imageMode ? 0 : models.clip.count * p.augNum
            lines.append("  per output: \(steps) guided steps; per step 1 U-Net forward+backward, 1 DINO forward+backward"
                + (clipPasses > 0 ? ", \(clipPasses) CLIP image forward+backward passes" : "") + (faces ? ", 1 ArcFace forward+backward" : ""))
            lines.append("  network passes for \(iterations) output(s): U-Net \(steps * iterations), DINO \(steps * iterations)"
                + (clipPasses > 0 ? ", CLIP \(steps * iterations * clipPasses)" : "") + (faces ? ", ArcFace \(steps * iterations)" : "")
                + " (each forward+backward; restarts add more)")
            let seconds = Double(steps * iterations) * estimatedSecondsPerStep
            lines.append("  estimated time: about \(Int((seconds / 60).rounded())) min (\(Int(estimatedSecondsPerStep.rounded())) s per step\(precision == .fp32 ? "" : " in \(precision)") on a 2-core x86-64 reference machine)")
        } else {
            lines.append("  the schedule leaves no step: check --steps/--skip")
        }
        return lines.joined(separator: "\n")
    }
}
