import Foundation
import Testing
@testable import Engine

/// Manifest lookups shared by the DINO and CLIP parity suites.
enum FeatureFixtures {
    /// Names of the io files whose case has `kind` (e.g. "dino", "clip", "clip_rn").
    static func ioFiles(kind: String) -> [String] {
        Fixtures.files.compactMap { entry in
            guard let c = entry["case"] as? [String: Any], c["kind"] as? String == kind else { return nil }
            return entry["file"] as? String
        }
    }

    static func entry(_ file: String) throws -> [String: Any] {
        try #require(Fixtures.files.first { $0["file"] as? String == file }, "\(file) is not in the manifest")
    }

    static func caseInfo(_ file: String) throws -> [String: Any] {
        try #require(entry(file)["case"] as? [String: Any], "\(file) has no case")
    }

    /// The tensor `name` of an io file, required to be listed in its manifest entry with the same shape.
    static func tensor(_ io: SafeTensorsArchive, _ name: String, file: String) throws -> Tensor {
        let listed = try #require(entry(file)["tensors"] as? [String: Any], "\(file) lists no tensors")
        let info = try #require(listed[name] as? [String: Any], "\(file) does not list \(name)")
        let t = try io.tensor(named: name)
        #expect(info["shape"] as? [Int] == t.shape, "\(file): \(name) shape differs from the manifest")
        return t
    }

    static func int(_ c: [String: Any], _ key: String) throws -> Int {
        try #require(c[key] as? Int, "case lacks integer \(key)")
    }

    /// Expects rel-L2 within the project tolerance; reports the error.
    static func expectClose(_ actual: Tensor, _ expected: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(actual.shape == expected.shape, "\(what): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
        guard actual.shape == expected.shape else { return }
        let err = relativeL2(actual.scalars, expected.scalars)
        print("parity \(what): rel-L2 \(err)")
        #expect(err <= parityTolerance, "\(what): rel-L2 \(err)", sourceLocation: sourceLocation)
    }
}

/// DINO ViT against the upstream PyTorch outputs of every `kind: dino` fixture case.
@Suite struct DINOParityTests {
    static let cases = FeatureFixtures.ioFiles(kind: "dino")

    @Test func manifestHasDINOCases() { #expect(!Self.cases.isEmpty, "no dino case in the fixture manifest") }

    struct Loaded {
        let model: DINOVisionTransformer
        let io: SafeTensorsArchive
        let keysBlock: Int
    }

    /// The model of io case `file`, configured by the manifest's `model_config` (upstream constructor keys);
    /// recognition from the weights' shapes, given the case's head count, must agree with it.
    static func load(_ file: String) throws -> Loaded {
        let c = try FeatureFixtures.caseInfo(file)
        let weightsFile = try #require(c["weights_file"] as? String)
        let store = WeightStore(try Checkpoint.open(Fixtures.path(weightsFile)))
        var config = try DINOConfig(modelConfig: try #require(try FeatureFixtures.entry(file)["model_config"] as? [String: Any]))
        if let eps = c["layer_norm_eps"] as? Double { config.layerNormEps = Float(eps) }
        let (width, patch) = (try FeatureFixtures.int(c, "embed_dim"), try FeatureFixtures.int(c, "patch_size"))
        #expect(config.embedDim == width && config.patchSize == patch)
        var recognised = try DINOConfig.recognise(store, heads: try FeatureFixtures.int(c, "num_heads"))
        recognised.layerNormEps = config.layerNormEps
        #expect(recognised == config, "\(file): shapes say \(recognised), model_config says \(config)")
        let model = try DINOVisionTransformer(weights: store, config: config)
        return Loaded(model: model, io: try Fixtures.safetensors(file), keysBlock: try FeatureFixtures.int(c, "keys_block"))
    }

    @Test(arguments: cases) func forwardTapsParity(_ file: String) throws {
        let l = try Self.load(file)
        func t(_ name: String) throws -> Tensor { try FeatureFixtures.tensor(l.io, name, file: file) }
        let x = try t("x")
        FeatureFixtures.expectClose(l.model.positionEmbedding(height: x.shape[2], width: x.shape[3]), try t("interpolated_pos_embed"), "\(file) interpolated_pos_embed")
        FeatureFixtures.expectClose(try l.model.prepareTokens(Variable(x)).value, try t("prepare_tokens"), "\(file) prepare_tokens")
        let f = try l.model.features(Variable(x), keysBlock: l.keysBlock)
        if l.keysBlock == l.model.config.depth - 1 {
            FeatureFixtures.expectClose(f.qkv.value, try t("qkv_last"), "\(file) qkv_last")
        }
        FeatureFixtures.expectClose(f.keys.value, try t("keys_concat"), "\(file) keys_concat")
        let keysBHND = try t("keys_bhnd")  // [B, heads, N, D/heads]
        FeatureFixtures.expectClose(Ops.permuteTensor(keysBHND, [0, 2, 1, 3]).reshaped(f.keys.shape), f.keys.value, "\(file) keys_bhnd")
        FeatureFixtures.expectClose(f.lastBlockOutput.value, try t("last_block_out"), "\(file) last_block_out")
        let lastOut = try t("last_block_out")
        FeatureFixtures.expectClose(f.lastBlockCLS.value, Ops.sliceTensor(lastOut, axis: 1, 0..<1).reshaped(f.lastBlockCLS.shape), "\(file) last-block CLS")
        FeatureFixtures.expectClose(f.normedTokens.value, try t("tokens_normed"), "\(file) tokens_normed")
        FeatureFixtures.expectClose(f.normedCLS.value, try t("cls"), "\(file) cls")
    }

    @Test(arguments: cases) func keysGradientParity(_ file: String) throws {
        let l = try Self.load(file)
        let tape = Tape()
        let x = tape.watch(try FeatureFixtures.tensor(l.io, "x", file: file))
        let f = try l.model.features(x, keysBlock: l.keysBlock)
        let g = tape.gradients(of: f.keys, cotangent: try FeatureFixtures.tensor(l.io, "G1", file: file), wrt: [x])[0]
        FeatureFixtures.expectClose(g, try FeatureFixtures.tensor(l.io, "grad_x_keys", file: file), "\(file) grad_x_keys")
    }

    @Test(arguments: cases) func clsGradientParity(_ file: String) throws {
        let l = try Self.load(file)
        let tape = Tape()
        let x = tape.watch(try FeatureFixtures.tensor(l.io, "x", file: file))
        let f = try l.model.features(x, keysBlock: l.keysBlock)
        let g = tape.gradients(of: f.normedCLS, cotangent: try FeatureFixtures.tensor(l.io, "G2", file: file), wrt: [x])[0]
        FeatureFixtures.expectClose(g, try FeatureFixtures.tensor(l.io, "grad_x_cls", file: file), "\(file) grad_x_cls")
    }
}

/// Shape recognition and loader errors that need no fixture.
@Suite struct DINOConfigTests {
    @Test func recognisesReleasedShapes() throws {
        // ViT-B/8 shapes: D = 768, p = 8, 28x28 grid, 12 blocks.
        var tensors: [String: [Int]] = ["patch_embed.proj.weight": [768, 3, 8, 8], "pos_embed": [1, 785, 768]]
        for i in 0..<12 {
            tensors["blocks.\(i).attn.qkv.weight"] = [2304, 768]
            tensors["blocks.\(i).mlp.fc1.weight"] = [3072, 768]
        }
        let c = try DINOConfig.recognise(WeightStore(ShapesOnlyArchive(shapes: tensors)))
        #expect(c == DINOConfig(embedDim: 768, depth: 12, heads: 12, patchSize: 8, mlpHiddenDim: 3072, trainedGridSize: 28))
        #expect(c.name.hasPrefix("ViT-B/8"))
    }

    @Test func rejectsForeignCheckpoint() {
        #expect(throws: DINOError.self) { try DINOConfig.recognise(WeightStore(ShapesOnlyArchive(shapes: ["weight": [3, 3]]))) }
    }
}

/// An archive that knows only shapes (for recognition tests); reading a tensor fails.
struct ShapesOnlyArchive: TensorArchive {
    let shapes: [String: [Int]]
    var tensorNames: [String] { shapes.keys.sorted() }
    func shape(of name: String) -> [Int]? { shapes[name] }
    func tensor(named name: String) throws -> Tensor { throw CheckpointError.missingTensor(name: name) }
}

/// The differentiable preprocessing DiffuseIT puts in front of DINO and CLIP (torchvision tensor resize,
/// centre crop, normalisation), checked on the `kind: diffuseit_losses` cases through the feature taps and
/// the two CLS losses whose gradients run back through the resize.
@Suite struct FeaturePreprocessingParityTests {
    static let cases = FeatureFixtures.ioFiles(kind: "diffuseit_losses")

    @Test func manifestHasLossCases() { #expect(!Self.cases.isEmpty, "no diffuseit_losses case in the fixture manifest") }

    struct Loaded {
        let dino: DINOVisionTransformer
        let io: SafeTensorsArchive
        let patchSize: Int
        let keysLayer: Int
    }

    static func load(_ file: String) throws -> Loaded {
        let c = try FeatureFixtures.caseInfo(file)
        let entry = try FeatureFixtures.entry(file)
        let modelConfig = try #require((entry["config"] as? [String: Any])?["dino"] as? [String: Any], "\(file) has no config.dino")
        let config = try DINOConfig(modelConfig: modelConfig)
        #expect(config.heads == c["dino_heads"] as? Int && config.embedDim == c["dino_embed_dim"] as? Int)
        let weights = try #require(c["dino_weights_file"] as? String)
        let dino = try DINOVisionTransformer(weights: WeightStore(Checkpoint.open(Fixtures.path(weights))), config: config)
        return Loaded(
            dino: dino, io: try Fixtures.safetensors(file), patchSize: try FeatureFixtures.int(c, "global_patch_size"),
            keysLayer: try FeatureFixtures.int(c, "keys_layer"))
    }

    /// `0.5·x + 0.5` of a [-1, 1] image, as DiffuseIT feeds its losses.
    static func unit(_ x: Variable) -> Variable { x * 0.5 + Variable(Tensor(shape: [1], scalars: [0.5])) }

    @Test(arguments: cases) func globalTransformAndKeysParity(_ file: String) throws {
        let l = try Self.load(file)
        func t(_ name: String) throws -> Tensor { try FeatureFixtures.tensor(l.io, name, file: file) }
        let prepared = DINOPreprocessing.prepare(Self.unit(Variable(try t("x_in"))), shorterSide: l.patchSize)
        let expected = try t("global_transform_x_in")
        FeatureFixtures.expectClose(prepared.value.reshaped(expected.shape), expected, "\(file) global_transform_x_in")

        let source = DINOPreprocessing.prepare(Self.unit(Variable(try t("source"))), shorterSide: l.patchSize)
        let keys = try l.dino.features(source, keysBlock: l.keysLayer).keys.value  // [1, N, D]
        let expectedKeys = try t("source_keys")  // [heads, N, d]
        let (h, n, d) = (expectedKeys.shape[0], expectedKeys.shape[1], expectedKeys.shape[2])
        FeatureFixtures.expectClose(Ops.permuteTensor(keys.reshaped([n, h, d]), [1, 0, 2]), expectedKeys, "\(file) source_keys")
    }

    /// dir_cls = −mse(cls(prev), cls(x_in)) and target_cls = mse(cls(target), cls(x_in)), with cls the last
    /// block's token 0 before the final norm; gradients w.r.t. x_in through the resize and normalisation.
    @Test(arguments: cases) func clsLossGradientParity(_ file: String) throws {
        let l = try Self.load(file)
        func t(_ name: String) throws -> Tensor { try FeatureFixtures.tensor(l.io, name, file: file) }
        func cls(_ image: Variable) throws -> Variable {
            try l.dino.features(DINOPreprocessing.prepare(Self.unit(image), shorterSide: l.patchSize), keysBlock: l.keysLayer).lastBlockCLS
        }
        for (other, sign, term) in [("prev", Float(-1), "dir_cls"), ("target", Float(1), "target_cls")] {
            let reference = try cls(Variable(try t(other)))
            let tape = Tape()
            let x = tape.watch(try t("x_in"))
            let loss = Ops.mse(reference, try cls(x)) * sign
            FeatureFixtures.expectClose(loss.value.reshaped([1]), try t(term + "_value"), "\(file) \(term)_value")
            let g = tape.gradients(of: loss, cotangent: Tensor(shape: [], scalars: [1]), wrt: [x])[0]
            FeatureFixtures.expectClose(g, try t(term + "_grad"), "\(file) \(term)_grad")
        }
    }
}
