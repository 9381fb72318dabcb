import Engine
import Foundation
import Testing
@testable import StyleFilter

/// DiffuseIT's identity loss (`id_loss.py` `IDLoss`) against the `idloss` case of every `kind: arcface` fixture.
@Suite struct IdentityLossParityTests {
    static let files: [String] = Fixtures.entries(kind: "arcface").compactMap { $0["file"] as? String }

    @Test func manifestHasArcFaceCases() { #expect(!Self.files.isEmpty, "no arcface case in the fixture manifest") }

    static func entry(_ file: String) throws -> [String: Any] {
        try #require(Fixtures.files.first { $0["file"] as? String == file }, "\(file) is not in the manifest")
    }

    /// Expects shape equality and rel-L2 within the project tolerance; prints the error.
    static func expectClose(_ actual: Tensor, _ file: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try Fixtures.tensor(file, name)
        #expect(actual.count == expected.count, "\(name): \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
        guard actual.count == expected.count else { return }
        let err = relativeL2(actual.scalars, expected.scalars)
        print("parity \(file) \(name): rel-L2 \(err)")
        #expect(err <= parityTolerance, "\(file) \(name): rel-L2 \(err)", sourceLocation: sourceLocation)
    }

    @Test(arguments: files) func identityLossParity(_ file: String) throws {
        let entry = try Self.entry(file)
        let info = try #require(entry["case"] as? [String: Any])
        let spec = try #require((entry["cases"] as? [String: Any])?["idloss"] as? [String: Any], "\(file) has no idloss case")
        let (inputs, outputs) = (spec["inputs"] as? [String] ?? [], spec["outputs"] as? [String] ?? [])
        try #require(inputs.count == 2 && outputs.count == 2, "idloss case: expected inputs [y_hat, y] and outputs [value, grad_y_hat]")

        // The crop and pool size the manifest states are the ones the loss and the backbone use.
        let crop = try #require(info["idloss_crop"] as? [String: [Int]])
        let c = IdentityLoss.faceCrop
        #expect(crop["rows"] == [c.top, c.top + c.height] && crop["cols"] == [c.left, c.left + c.width])
        let store = WeightStore(try Checkpoint.open(Fixtures.path(try #require(info["weights_file"] as? String))))
        let model = try ArcFaceModel(weights: store)
        #expect(info["idloss_pool"] as? [Int] == [model.config.inputSize, model.config.inputSize])

        let loss = try IdentityLoss(model: model, source: try Fixtures.tensor(file, inputs[1]))
        let tape = Tape()
        let yHat = tape.watch(try Fixtures.tensor(file, inputs[0]))
        let e = try loss.evaluate(yHat)
        try Self.expectClose(e.loss.value, file, outputs[0])
        let taps = [
            "idloss_y_hat_pooled": e.pooledFace.value, "idloss_y_hat_feats": e.embedding.value,
            "idloss_y_feats": loss.sourceEmbedding, "idloss_dots": e.similarities.value,
        ]
        for name in spec["intermediates"] as? [String] ?? [] {
            try Self.expectClose(try #require(taps[name], "intermediate \(name) has no tap"), file, name)
        }
        let grad = tape.gradients(of: e.loss, cotangent: Tensor(shape: [], scalars: [1]), wrt: [yHat])[0]
        try Self.expectClose(grad, file, outputs[1])
        // Nothing outside the crop reaches the loss.
        let (h, w) = (grad.shape[2], grad.shape[3])
        let outside = grad.scalars.enumerated().filter { i, _ in
            let (y, x) = ((i / w) % h, i % w)
            return !(c.top..<(c.top + c.height)).contains(y) || !(c.left..<(c.left + c.width)).contains(x)
        }
        #expect(!outside.isEmpty && outside.allSatisfy { $0.element == 0 })
    }

    @Test func refusesImagesTooSmallForTheCrop() throws {
        let config = ArcFaceConfig(stemChannels: 8, stages: [.init(width: 8, units: 1, squeezeChannels: 1)], embeddingDim: 4, inputSize: 16)
        let model = try ArcFaceModel(weights: WeightStore(ArcFaceRandomWeights(config: config)))
        #expect(throws: StyleFilterError.self) { try IdentityLoss(model: model, source: Tensor.zeros([1, 3, 128, 128])) }
        let loss = try IdentityLoss(model: model, source: Tensor.zeros([1, 3, 256, 256]))
        #expect(loss.facePool.outputHeight == 16)
        #expect(throws: StyleFilterError.self) { try loss(Variable(Tensor.zeros([2, 3, 256, 256]))) }
    }
}
