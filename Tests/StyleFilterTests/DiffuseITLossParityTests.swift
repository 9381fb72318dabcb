import Engine
import Foundation
import Testing
@testable import StyleFilter

/// The pixel-space losses and the noise mix of DiffuseIT (`diffuseit_losses` cases of the manifest).
@Suite struct DiffuseITLossParityTests {
    static let files: [String] = Fixtures.entries(kind: "diffuseit_losses").compactMap { $0["file"] as? String }

    @Test func manifestHasLossCases() {
        #expect(!Self.files.isEmpty, "no diffuseit_losses case in the fixture manifest")
    }

    @Test(arguments: files)
    func rangeLossParity(_ file: String) throws {
        let x = try Fixtures.tensor(file, "x_in")
        let (value, grad) = valueAndGradient(x) { ImageLosses.range($0) }
        let errV = relativeError(value, try Fixtures.tensor(file, "range_value").scalars[0])
        let errG = relativeL2(grad.scalars, try Fixtures.tensor(file, "range_grad").scalars)
        #expect(errV <= parityTolerance && errG <= parityTolerance, "range value \(errV), grad \(errG)")
    }

    @Test(arguments: files)
    func targetMSEParity(_ file: String) throws {
        let x = try Fixtures.tensor(file, "x_in"), target = try Fixtures.tensor(file, "target")
        let (value, grad) = valueAndGradient(x) { ImageLosses.mse($0, target) }
        let errV = relativeError(value, try Fixtures.tensor(file, "mse_target_value").scalars[0])
        let errG = relativeL2(grad.scalars, try Fixtures.tensor(file, "mse_target_grad").scalars)
        #expect(errV <= parityTolerance && errG <= parityTolerance, "mse value \(errV), grad \(errG)")
    }

    /// `noisy_aug(t, x = x_in, x_hat = prev)` with the stored float64 factor, and the factor itself
    /// from the respaced schedule named by the case config.
    @Test(arguments: files)
    func noiseMixParity(_ file: String) throws {
        let factor = try FixtureScalars.requiredDoubles(file: file, name: "noisy_aug_fac")[0]
        let entry = try #require(Fixtures.files.first { $0["file"] as? String == file })
        if let config = entry["config"] as? [String: Any], let t = config["t_index"] as? Int, let respacing = config["respacing"] as? String {
            let diffusion = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: respacing)
            #expect(abs(diffusion.schedule.sqrtOneMinusAlphasCumprod[t] - factor) < 1e-12)
        }
        let mixed = ImageLosses.noiseMixed(
            predXStart: Variable(try Fixtures.tensor(file, "prev")), xT: Variable(try Fixtures.tensor(file, "x_in")), factor: factor)
        let err = relativeL2(mixed.value.scalars, try Fixtures.tensor(file, "noisy_aug").scalars)
        #expect(err <= parityTolerance, "noisy_aug rel-L2 \(err)")
    }

    /// torchvision `Resize(global_patch_size, max_size=480)` + ImageNet normalisation of 0.5x + 0.5.
    @Test(arguments: files)
    func dinoPreprocessingParity(_ file: String) throws {
        let entry = try #require(Fixtures.files.first { $0["file"] as? String == file })
        let size = try #require((entry["config"] as? [String: Any])?["global_patch_size"] as? Int)
        let losses = DINOLosses(model: UnusedDINO(), globalPatchSize: size)
        for (input, reference) in [("x_in", "global_transform_x_in"), ("source", "global_transform_source")] {
            let out = losses.preprocess(Variable(try Fixtures.tensor(file, input))).value
            let err = relativeL2(out.scalars, try Fixtures.tensor(file, reference).scalars)
            #expect(err <= parityTolerance, "\(reference) rel-L2 \(err)")
        }
    }
}

/// A stand-in for tests that only exercise preprocessing.
final class UnusedDINO: DINOGuidanceModel {
    func keysAndCLS(_ image: Variable) throws -> (keys: Variable, cls: Variable) {
        Issue.record("the DINO network should not run in this test")
        return (image, image)
    }
}
