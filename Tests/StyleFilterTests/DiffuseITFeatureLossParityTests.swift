import Engine
import Foundation
import Testing
@testable import StyleFilter

/// DINO and CLIP losses of `diffuseit_losses` cases: every value and its gradient w.r.t. x_in.
@Suite struct DiffuseITFeatureLossParityTests {
    static let files: [String] = Fixtures.entries(kind: "diffuseit_losses").compactMap { $0["file"] as? String }

    struct Setup {
        let file: String
        let entry: [String: Any]
        let losses: DINOLosses
        let dino: DINOVisionTransformer
        func t(_ name: String) throws -> Tensor { try Fixtures.tensor(file, name) }
    }

    static func setup(_ file: String) throws -> Setup {
        let entry = try #require(Fixtures.files.first { $0["file"] as? String == file })
        let c = try #require(entry["case"] as? [String: Any])
        let dino = try FixtureNetworks.dino(file: try #require(c["dino_weights_file"] as? String), heads: c["dino_heads"] as? Int)
        let size = try #require(c["global_patch_size"] as? Int)
        return Setup(file: file, entry: entry, losses: DINOLosses(model: dino, globalPatchSize: size), dino: dino)
    }

    static func check(_ label: String, value: Float, grad: Tensor, _ s: Setup) throws {
        let errV = relativeError(value, try s.t("\(label)_value").scalars[0])
        let errG = relativeL2(grad.scalars, try s.t("\(label)_grad").scalars)
        #expect(errV <= parityTolerance, "\(label) value rel \(errV)")
        #expect(errG <= parityTolerance, "\(label) grad rel-L2 \(errG)")
        print("\(s.file) \(label): value rel \(errV), grad rel-L2 \(errG)")
    }

    /// Source keys and their self-similarity (the reference features).
    @Test(arguments: files)
    func referenceFeaturesParity(_ file: String) throws {
        let s = try Self.setup(file)
        let source = try s.t("source")
        let ref = try s.losses.reference(source)
        let errSim = relativeL2(ref.selfSimilarity.scalars, try s.t("source_keys_self_sim").scalars)
        #expect(errSim <= parityTolerance, "self-sim rel-L2 \(errSim)")
        let keys = try s.losses.features(Variable(source)).keys  // [N, H·d]
        let expected = try s.t("source_keys")  // [H, N, d]
        let (h, n, d) = (expected.shape[0], expected.shape[1], expected.shape[2])
        let perHead = Ops.permute(Ops.reshape(keys, [n, h, d]), [1, 0, 2]).value
        let errKeys = relativeL2(perHead.scalars, expected.scalars)
        #expect(errKeys <= parityTolerance, "keys rel-L2 \(errKeys)")
    }

    @Test(arguments: files)
    func dinoTermsParity(_ file: String) throws {
        let s = try Self.setup(file)
        let x = try s.t("x_in"), source = try s.losses.reference(try s.t("source"))
        let prevCLS = try s.losses.features(Variable(try s.t("prev"))).cls.value
        let targetCLS = try s.losses.features(Variable(try s.t("target"))).cls.value
        func term(_ pick: @escaping (DINOLosses.Terms) -> Variable?) throws -> (Float, Tensor) {
            try valueAndGradient(x) { v in
                try #require(pick(try s.losses.terms(v, source: source, previousCLS: prevCLS, styleCLS: targetCLS)))
            }
        }
        let ssim = try term { $0.selfSimilarity }
        try Self.check("global_ssim", value: ssim.0, grad: ssim.1, s)
        let contra = try term { $0.contrastive }
        try Self.check("contra_ssim", value: contra.0, grad: contra.1, s)
        let dir = try term { $0.semanticDivergence }
        try Self.check("dir_cls", value: dir.0, grad: dir.1, s)
        let trg = try term { $0.style }
        try Self.check("target_cls", value: trg.0, grad: trg.1, s)

        // Loss_vit totals with the case's lambdas (use_dir + target; and no dir, frac_cont 0.5).
        let lambdas = try #require((s.entry["case"] as? [String: Any])?["lambdas"] as? [String: Double])
        let (ls, lc, ld, lt) = (Float(lambdas["lambda_ssim"]!), Float(lambdas["lambda_contra_ssim"]!), Float(lambdas["lambda_dir_cls"]!), Float(lambdas["lambda_trg"]!))
        let total = try valueAndGradient(x) { v in
            let t = try s.losses.terms(v, source: source, previousCLS: prevCLS, styleCLS: targetCLS)
            return Ops.scale(t.selfSimilarity, ls) + Ops.scale(t.contrastive, lc) + Ops.scale(t.semanticDivergence!, ld) + Ops.scale(t.style!, lt)
        }
        try Self.check("vit_total", value: total.0, grad: total.1, s)
        let nodir = try valueAndGradient(x) { v in
            let t = try s.losses.terms(v, source: source, previousCLS: nil, styleCLS: nil)
            return Ops.scale(t.selfSimilarity, ls) + Ops.scale(t.contrastive, lc * 0.5)
        }
        try Self.check("vit_nodir", value: nodir.0, grad: nodir.1, s)
    }

    /// The CLIP part: E_I0 (test preprocessing), E_S and E_T from the 79 templates through the real
    /// tokenizer and text tower, the FlexIT target, and the loss of x_in with its gradient.
    @Test(arguments: files)
    func clipLossParity(_ file: String) throws {
        let s = try Self.setup(file)
        let part = try #require(s.entry["clip_part"] as? [String: Any])
        let c = try #require(s.entry["case"] as? [String: Any])
        let model = try FixtureNetworks.clip(file: try #require(c["clip_weights_file"] as? String), config: part["model_config"] as? [String: Any])
        let guidance = try CLIPGuidance(
            models: [model], targetText: try #require(part["target_prompt"] as? String),
            sourceText: try #require(part["source_prompt"] as? String), sourceImage: try s.t("source"), tokenizer: CLIPTokenizer.shared)
        let errTarget = relativeL2(guidance.members[0].target.scalars, try s.t("clip_tgt").scalars)
        #expect(errTarget <= parityTolerance, "clip_tgt rel-L2 \(errTarget)")
        let eI0 = try CLIPGuidance.imageEmbedding(model, image: Variable(try s.t("source")), views: nil).value
        let errI0 = relativeL2(eI0.scalars, try s.t("clip_E_I0").scalars)
        #expect(errI0 <= parityTolerance, "clip_E_I0 rel-L2 \(errI0)")
        let sourceTokens = try CLIPTokenizer.shared.tokenize(PromptTemplates.filled(with: part["source_prompt"] as! String))
        let eS = CLIPGuidance.textEmbedding(templateFeatures: try model.encodeText(sourceTokens))
        let errS = relativeL2(eS.scalars, try s.t("clip_E_S").scalars)
        #expect(errS <= parityTolerance, "clip_E_S rel-L2 \(errS)")
        let (value, grad) = try valueAndGradient(try s.t("x_in")) { try guidance.loss($0, views: nil) }
        try Self.check("clip", value: value, grad: grad, s)
    }
}
