import Foundation
import Testing
@testable import Engine

/// An archive that only knows names and shapes (tensors are zeros), for structure checks.
struct ShapeOnlyArchive: TensorArchive {
    let entries: [(name: String, shape: [Int])]
    var tensorNames: [String] { entries.map(\.name) }
    func shape(of name: String) -> [Int]? { entries.first { $0.name == name }?.shape }
    func tensor(named name: String) throws -> Tensor {
        guard let s = shape(of: name) else { throw CheckpointError.missingTensor(name: name) }
        return Tensor.zeros(s)
    }
}

@Suite struct UNetConfigTests {
    /// Totals from the spec's enumeration of the official checkpoints (models-and-checkpoints A.7).
    @Test(arguments: [
        (UNetConfig.imageNet256Unconditional, 566, 552_814_086),
        (UNetConfig.ffhq256, 362, 93_563_910),
    ])
    func builtInParameterTotals(config: UNetConfig, tensors: Int, parameters: Int) {
        let shapes = config.parameterShapes()
        #expect(shapes.count == tensors)
        #expect(shapes.reduce(0) { $0 + Tensor.elementCount($1.shape) } == parameters)
    }

    @Test func recognisesBuiltInsFromShapesOnly() {
        for config in UNetConfig.builtIn {
            #expect(UNetConfig.recognise(from: ShapeOnlyArchive(entries: config.parameterShapes())) == config)
        }
        var altered = UNetConfig.ffhq256.parameterShapes()
        altered[altered.count - 1].shape = [3]
        #expect(UNetConfig.recognise(from: ShapeOnlyArchive(entries: altered)) == nil)
    }

    /// Each manifest U-Net's key list (names and shapes, in order) equals what its config enumerates.
    @Test func manifestKeysMatchConfigEnumeration() throws {
        var checked = 0
        for entry in Fixtures.files {
            guard let upstream = entry["upstream"] as? [String: Any], upstream["cls"] as? String == "UNetModel",
                let config = entry["model_config"], let keys = entry["keys"] as? [[Any]]
            else { continue }
            let decoded = try JSONDecoder().decode(UNetConfig.self, from: JSONSerialization.data(withJSONObject: config))
            let expected = decoded.parameterShapes()
            #expect(expected.map(\.name) == keys.map { $0[0] as? String ?? "" })
            #expect(expected.map(\.shape) == keys.map { $0[1] as? [Int] ?? [] })
            checked += 1
        }
        #expect(checked > 0)
    }

    @Test func jsonRoundTripAndDefaults() throws {
        let json = #"{"image_size": 64, "model_channels": 32, "learn_sigma": true, "num_res_blocks": 1, "attention_resolutions": [4], "channel_mult": [1, 2]}"#
        let c = try JSONDecoder().decode(UNetConfig.self, from: Data(json.utf8))
        #expect(c.outChannels == 6 && c.numHeadChannels == -1 && c.numHeads == 1 && !c.useScaleShiftNorm && c.convResample)
        let again = try JSONDecoder().decode(UNetConfig.self, from: JSONEncoder().encode(c))
        #expect(again == c)
    }

    @Test func refusesClassConditionalModels() {
        var c = UNetConfig.ffhq256
        c.numClasses = 1000
        #expect(throws: UNetError.self) { try UNetModel(config: c, weights: WeightStore(ShapeOnlyArchive(entries: []))) }
    }

    @Test func missingWeightIsNamed() {
        var entries = UNetConfig.ffhq256.parameterShapes()
        entries.removeAll { $0.name == "middle_block.1.qkv.weight" }
        #expect(throws: CheckpointError.missingTensor(name: "middle_block.1.qkv.weight")) {
            try UNetModel(config: .ffhq256, weights: WeightStore(ShapeOnlyArchive(entries: entries)))
        }
    }
}
