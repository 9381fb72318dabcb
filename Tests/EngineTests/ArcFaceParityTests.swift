import Foundation
import Testing
@testable import Engine

/// The ArcFace IR-SE backbone against the upstream PyTorch outputs of every `kind: arcface` fixture case.
@Suite struct ArcFaceParityTests {
    static let files = FeatureFixtures.ioFiles(kind: "arcface")

    @Test func manifestHasArcFaceCases() { #expect(!Self.files.isEmpty, "no arcface case in the fixture manifest") }

    struct Loaded {
        let model: ArcFaceModel
        let io: SafeTensorsArchive
    }

    /// The model of io case `file`, its architecture recognised from the weights' shapes alone, which must agree
    /// with the manifest's `model_config` (the narrowed `get_blocks` and the mapped widths).
    static func load(_ file: String) throws -> Loaded {
        let c = try FeatureFixtures.caseInfo(file)
        let weightsFile = try #require(c["weights_file"] as? String)
        let store = WeightStore(try Checkpoint.open(Fixtures.path(weightsFile)))
        let config = try ArcFaceConfig.recognise(store)
        let m = try #require(try FeatureFixtures.entry(weightsFile)["model_config"] as? [String: Any], "\(weightsFile) has no model_config")
        #expect(config.inputSize == m["input_size"] as? Int && config.stemChannels == m["stem_channels"] as? Int)
        #expect(config.stages.map(\.width) == m["stage_widths"] as? [Int] && config.stages.map(\.units) == m["stage_units"] as? [Int])
        #expect(config.stages.map(\.stride) == m["stage_strides"] as? [Int] && config.stages.map(\.squeezeChannels) == m["se_channels"] as? [Int])
        #expect(config.outputChannels == m["output_channels"] as? Int && [config.finalMapSize, config.finalMapSize] == m["final_map"] as? [Int])
        #expect(config.embeddingDim == m["embedding_dim"] as? Int && config.batchNormEps == (m["batch_norm_eps"] as? Double).map { Float($0) })
        // get_blocks: per stage, [in_channel, depth, stride] of each unit.
        let blocks = (m["get_blocks"] as? [[[Int]]] ?? []).flatMap { $0 }
        #expect(config.units.map { [$0.inChannels, $0.depth, $0.stride] } == blocks)
        return Loaded(model: try ArcFaceModel(weights: store, config: config), io: try Fixtures.safetensors(file))
    }

    /// The io case `name` of `file` (`cases.<name>` in the manifest: inputs, outputs, intermediates).
    static func ioCase(_ file: String, _ name: String) throws -> (inputs: [String], outputs: [String], intermediates: [String]) {
        let cases = try #require(try FeatureFixtures.entry(file)["cases"] as? [String: Any], "\(file) lists no cases")
        let c = try #require(cases[name] as? [String: Any], "\(file) has no case \(name)")
        return (c["inputs"] as? [String] ?? [], c["outputs"] as? [String] ?? [], c["intermediates"] as? [String] ?? [])
    }

    /// Backbone.forward and d(Σ embedding·G)/dx, with every stage output and the pre-normalisation output layer.
    @Test(arguments: files) func backboneParity(_ file: String) throws {
        let l = try Self.load(file)
        let c = try Self.ioCase(file, "backbone")
        try #require(c.inputs.count == 2 && c.outputs.count == 2, "backbone case: expected inputs [x, G] and outputs [embedding, grad_x]")
        func t(_ name: String) throws -> Tensor { try FeatureFixtures.tensor(l.io, name, file: file) }
        let tape = Tape()
        let x = tape.watch(try t(c.inputs[0]))
        let f = try l.model.features(x)
        FeatureFixtures.expectClose(f.embedding.value, try t(c.outputs[0]), "\(file) \(c.outputs[0])")
        var taps = ["output_layer_out": f.outputLayer.value]
        for (i, stage) in f.stageOutputs.enumerated() { taps["stage\(i + 1)_out"] = stage.value }
        for name in c.intermediates {
            let tap = try #require(taps[name], "\(file): intermediate \(name) has no model tap")
            FeatureFixtures.expectClose(tap, try t(name), "\(file) \(name)")
        }
        let g = tape.gradients(of: f.embedding, cotangent: try t(c.inputs[1]), wrt: [x])[0]
        FeatureFixtures.expectClose(g, try t(c.outputs[1]), "\(file) \(c.outputs[1])")
    }

    /// The config enumerates the weights file's state-dict keys (names, shapes, order) and value count.
    @Test(arguments: files) func parameterShapesMatchManifestKeys(_ file: String) throws {
        let weightsFile = try #require(try FeatureFixtures.caseInfo(file)["weights_file"] as? String)
        let entry = try FeatureFixtures.entry(weightsFile)
        let keys = try #require(entry["keys"] as? [[Any]], "\(weightsFile) lists no keys")
        let shapes = try Self.load(file).model.config.parameterShapes()
        #expect(shapes.map(\.name) == keys.map { $0[0] as? String ?? "" })
        #expect(shapes.map(\.shape) == keys.map { $0[1] as? [Int] ?? [] })
        #expect(shapes.reduce(0) { $0 + Tensor.elementCount($1.shape) } == entry["num_params"] as? Int)
    }
}

/// Recognition of the real IR-SE-50 layout and refusal of malformed checkpoints, from shapes alone (no fixture
/// weights), and the full-size network on random weights.
@Suite struct ArcFaceConfigTests {
    /// The manifest's description of the real `model_ir_se50.pth` (`real_model` of the arcface weights entry)
    /// and its upstream `num_layers`.
    static func realModel() throws -> (description: [String: Any], numLayers: Int) {
        let entry = try #require(Fixtures.files.first { $0["real_model"] is [String: Any] && ($0["upstream"] as? [String: Any])?["cls"] as? String == "Backbone" },
            "no ArcFace weights entry with real_model in the manifest")
        let numLayers = try #require((entry["model_config"] as? [String: Any])?["num_layers"] as? Int)
        return (try #require(entry["real_model"] as? [String: Any]), numLayers)
    }

    /// The state-dict keys of a `Backbone(mode='ir_se')` built from a stage description, written out from
    /// upstream's rules (`get_block`, `bottleneck_IR_SE`, `output_layer`) independently of `ArcFaceConfig`.
    static func upstreamLayout(stem: Int, widths: [Int], units: [Int], squeeze: [Int], linear: [Int]) -> [(name: String, shape: [Int])] {
        func bn(_ p: String, _ c: Int) -> [(name: String, shape: [Int])] {
            [(p + ".weight", [c]), (p + ".bias", [c]), (p + ".running_mean", [c]), (p + ".running_var", [c]), (p + ".num_batches_tracked", [])]
        }
        var keys: [(name: String, shape: [Int])] = [("input_layer.0.weight", [stem, 3, 3, 3])] + bn("input_layer.1", stem) + [("input_layer.2.weight", [stem])]
        keys += bn("output_layer.0", widths.last ?? 0) + [("output_layer.3.weight", [linear[1], linear[0]]), ("output_layer.3.bias", [linear[1]])]
        keys += bn("output_layer.4", linear[1])
        var (unit, inChannels) = (0, stem)
        for (s, depth) in widths.enumerated() {
            for _ in 0..<units[s] {
                let p = "body.\(unit)."
                if inChannels != depth { keys += [(p + "shortcut_layer.0.weight", [depth, inChannels, 1, 1])] + bn(p + "shortcut_layer.1", depth) }
                keys += bn(p + "res_layer.0", inChannels)
                keys += [(p + "res_layer.1.weight", [depth, inChannels, 3, 3]), (p + "res_layer.2.weight", [depth]), (p + "res_layer.3.weight", [depth, depth, 3, 3])]
                keys += bn(p + "res_layer.4", depth)
                keys += [(p + "res_layer.5.fc1.weight", [squeeze[s], depth, 1, 1]), (p + "res_layer.5.fc2.weight", [depth, squeeze[s], 1, 1])]
                (unit, inChannels) = (unit + 1, depth)
            }
        }
        return keys
    }

    static func irSE50Layout() throws -> [(name: String, shape: [Int])] {
        let m = try realModel().description
        return upstreamLayout(
            stem: try #require(m["stem_channels"] as? Int), widths: try #require(m["stage_widths"] as? [Int]),
            units: try #require(m["stage_units"] as? [Int]), squeeze: try #require(m["se_channels"] as? [Int]),
            linear: try #require(m["linear"] as? [Int]))
    }

    static func recognise(_ layout: [(name: String, shape: [Int])]) throws -> ArcFaceConfig {
        try ArcFaceConfig.recognise(WeightStore(ShapeOnlyArchive(entries: layout)))
    }

    @Test func recognisesTheRealIRSE50() throws {
        let (m, numLayers) = try Self.realModel()
        let layout = try Self.irSE50Layout()
        #expect(layout.count == m["num_tensors"] as? Int)
        #expect(layout.reduce(0) { $0 + Tensor.elementCount($1.shape) } == m["state_dict_numel"] as? Int)
        let c = try Self.recognise(layout)
        #expect(c == .irSE50)
        #expect(c.numLayers == numLayers && c.name.hasPrefix("IR-SE-\(numLayers) "))
        #expect(c.embeddingDim == m["embedding_dim"] as? Int && c.inputSize == 112 && [c.finalMapSize, c.finalMapSize] == m["final_map"] as? [Int])
        #expect(c.parameterCount == m["num_params"] as? Int)
        #expect(c.parameterShapes().map(\.name) == layout.map(\.name) && c.parameterShapes().map(\.shape) == layout.map(\.shape))
        // Checkpoints saved before PyTorch tracked batch counts have no num_batches_tracked.
        #expect(try Self.recognise(layout.filter { !$0.name.hasSuffix("num_batches_tracked") }) == .irSE50)
    }

    /// Ways to spoil the IR-SE-50 layout.
    enum Damage: CaseIterable, Sendable {
        case missingBatchNormStatistic, linearOfRank3, zeroSizedKernel, negativeExtent, absurdLinearInput, absurdEmbedding
        case linearInputNotChannelsTimesSquare, stemNotRGB, inconsistentUnitWidth, noSqueezeExcitation
        case shortcutConvolutionWhereWidthIsKept, noBody, foreignCheckpoint

        func apply(_ l: inout [(name: String, shape: [Int])]) {
            func reshape(_ name: String, _ shape: [Int]) {
                if let i = l.firstIndex(where: { $0.name == name }) { l[i].shape = shape }
            }
            switch self {
            case .missingBatchNormStatistic: l.removeAll { $0.name == "body.5.res_layer.4.running_var" }
            case .linearOfRank3: reshape("output_layer.3.weight", [512, 25088, 1])
            case .zeroSizedKernel: reshape("body.0.res_layer.1.weight", [64, 64, 0, 3])
            case .negativeExtent: reshape("input_layer.0.weight", [64, 3, 3, -3])
            case .absurdLinearInput: reshape("output_layer.3.weight", [512, Int.max])
            case .absurdEmbedding: reshape("output_layer.3.weight", [1 << 40, 25088])
            case .linearInputNotChannelsTimesSquare: reshape("output_layer.3.weight", [512, 25087])
            case .stemNotRGB: reshape("input_layer.0.weight", [64, 1, 3, 3])
            case .inconsistentUnitWidth: reshape("body.1.res_layer.3.weight", [64, 32, 3, 3])
            case .noSqueezeExcitation: l.removeAll { $0.name.contains("res_layer.5.") }
            case .shortcutConvolutionWhereWidthIsKept: l.append(("body.1.shortcut_layer.0.weight", [64, 64, 1, 1]))
            case .noBody: l.removeAll { $0.name.hasPrefix("body.") }
            case .foreignCheckpoint: l = [("patch_embed.proj.weight", [768, 3, 16, 16])]
            }
        }
    }

    /// Each malformed variant of the IR-SE-50 layout is refused with an error that says why (never a trap).
    @Test(arguments: Damage.allCases) func refusesMalformedCheckpoints(_ damage: Damage) throws {
        var layout = try Self.irSE50Layout()
        damage.apply(&layout)
        do {
            let c = try Self.recognise(layout)
            Issue.record("\(damage): recognised as \(c.name)")
        } catch ArcFaceError.notRecognised(let why) {
            #expect(!why.isEmpty)
        }
    }

    @Test func refusesInvalidConfigs() {
        var zeroStride = ArcFaceConfig.irSE50
        zeroStride.stages[1].stride = 0
        #expect(throws: ArcFaceError.self) { try ArcFaceModel(weights: WeightStore(ShapeOnlyArchive(entries: [])), config: zeroStride) }
        var noStages = ArcFaceConfig.irSE50
        noStages.stages = []
        #expect(throws: ArcFaceError.self) { try ArcFaceModel(weights: WeightStore(ShapeOnlyArchive(entries: [])), config: noStages) }
    }

    @Test func refusesWrongImages() throws {
        let config = ArcFaceConfig(stemChannels: 8, stages: [.init(width: 8, units: 1, squeezeChannels: 1), .init(width: 16, units: 1, squeezeChannels: 1)], embeddingDim: 4, inputSize: 16)
        let model = try ArcFaceModel(weights: WeightStore(ArcFaceRandomWeights(config: config)))
        #expect(model.config == config)
        for shape in [[1, 3, 16, 15], [1, 1, 16, 16], [3, 16, 16], [0, 3, 16, 16]] {
            #expect(throws: ArcFaceError.self) { try model(Variable(Tensor.zeros(shape))) }
        }
    }

    /// The full-size IR-SE-50 on random weights: unit-length embeddings, and an input gradient that predicts the
    /// change of Σ embedding·G along a random direction (central difference).
    @Test func fullSizeRandomIRSE50() throws {
        let model = try ArcFaceModel(weights: WeightStore(ArcFaceRandomWeights(config: .irSE50, seed: 3)))
        var rng = PhiloxGenerator(seed: 9)
        let x = Tensor(shape: [1, 3, 112, 112], scalars: rng.uniformTensor([1, 3, 112, 112]).scalars.map { 2 * $0 - 1 })
        let g = rng.normalTensor([1, 512])
        let (embedding, gradient) = try model.inputGradient(x, cotangent: g)
        #expect(abs(embedding.scalars.reduce(0) { $0 + Double($1) * Double($1) } - 1) < 1e-5)
        let direction = rng.normalTensor(x.shape).scalars
        func objective(_ step: Float) throws -> Double {
            let moved = Tensor(shape: x.shape, scalars: zip(x.scalars, direction).map { $0 + step * $1 })
            return zip(try model(Variable(moved)).value.scalars, g.scalars).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        // Small enough for the PReLU/ReLU kinks not to matter (0.2% off here), large enough for float32 noise.
        let numeric = (try objective(3e-4) - objective(-3e-4)) / 6e-4
        let analytic = zip(gradient.scalars, direction).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(numeric - analytic) <= 1e-2 * abs(analytic), "directional derivative \(analytic) vs central difference \(numeric)")
        // Convolutions and the Linear at 112x112 (each unit's first 3x3 conv runs before the stride), summed by hand.
        #expect(model.forwardMACs == 6_296_485_888)
    }
}
