import Engine
import Foundation
import Testing
@testable import StyleFilter

/// Faces mode (upstream `--use_ffhq`) in the one guidance path: the identity term joins the loss as its
/// last whole-image term with `id_lambda`, on the whole image and on a tiled run's view; the restart
/// threshold follows the prior.
@Suite struct FacesModeTests {
    static func arcface() throws -> ArcFaceModel {
        let info = try #require(Fixtures.entries(kind: "arcface").first?["case"] as? [String: Any])
        return try ArcFaceModel(weights: WeightStore(try Checkpoint.open(Fixtures.path(try #require(info["weights_file"] as? String)))))
    }

    static func dino() throws -> DINOLosses {
        let entry = try #require(Fixtures.entries(kind: "diffuseit_steps").first?["case"] as? [String: Any])
        let net = try FixtureNetworks.dino(file: try #require(entry["dino_weights_file"] as? String),
            heads: (entry["dino_config"] as? [String: Any])?["num_heads"] as? Int)
        return DINOLosses(model: net, globalPatchSize: entry["dino_global_patch_size"] as? Int ?? 224)
    }

    static func image(phase: Float) -> Tensor {
        let s = 256
        return Tensor(shape: [1, 3, s, s], scalars: (0..<(3 * s * s)).map { i in 0.8 * sinf(Float(i % s) / 11 + phase) * cosf(Float(i / s) / 7) })
    }

    @Test func theRestartThresholdFollowsThePrior() throws {
        var p = DiffuseITParameters()
        #expect(p.restartThreshold == 0.01)
        p.useFFHQ = true
        #expect(p.restartThreshold == 0.1)
        try p.set("range_restart_threshold", "0.05")
        #expect(p.restartThreshold == 0.05)
    }

    @Test func theIdentityTermIsTheLastWholeImageTermWeightedByIdLambda() throws {
        let model = try Self.arcface(), dino = try Self.dino()
        let source = Self.image(phase: 0), style = Self.image(phase: 1.7), view = Self.image(phase: 0.4)
        var p = DiffuseITParameters.named("paper", imageMode: true)!
        p.useFFHQ = true
        let identity = try IdentityLoss(model: model, source: source)
        let loss = try DiffuseITLoss(parameters: p, dino: dino, clip: nil, style: style, identity: identity)
        let evaluation = try loss.evaluateTargets(view: Variable(view), views: nil)
        let id = try #require(evaluation.terms[.id]).value.scalars[0]
        #expect(id == (try identity(Variable(view))).value.scalars[0])
        #expect(id > 0)
        p.idLambda = 0
        let without = try DiffuseITLoss(parameters: p, dino: dino, clip: nil, style: style, identity: identity)
            .evaluateTargets(view: Variable(view), views: nil)
        #expect(without.terms[.id] == nil)
        let total = try #require(evaluation.total).value.scalars[0], rest = try #require(without.total).value.scalars[0]
        #expect(abs(total - (rest + 100 * id)) <= 1e-3 * abs(total))
        // Faces mode and the identity network go together.
        #expect(throws: DiffuseITError.self) { try DiffuseITLoss(parameters: p, dino: dino, clip: nil, style: style) }
    }

    @Test func theFacesPriorIsRecognisedFromTheOfficialShapes() {
        let ffhq = ModelsRecogniserTests.unet(channels: 128, resBlocks: 1, attention: [16])
        #expect(UNetConfig.recognise(from: ffhq) == .ffhq256)
        #expect(ArchitectureRecognition.recognise(ModelsRecogniserTests.irSE50)?.identifier == ModelCatalog.entry(named: "arcface-ir-se50")?.architecture)
    }
}
