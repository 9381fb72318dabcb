import Foundation
import Testing
@testable import Engine

/// CLIP (ViT and ModifiedResNet image towers, text tower) against the upstream PyTorch outputs of every
/// `kind: clip` / `kind: clip_rn` fixture case, and the same model read from its TorchScript archive.
@Suite struct CLIPParityTests {
    static let cases = FeatureFixtures.ioFiles(kind: "clip") + FeatureFixtures.ioFiles(kind: "clip_rn")

    /// TorchScript archives whose manifest entry names the io file of the same model (`io_twin`).
    static let torchScriptFiles: [String] = Fixtures.files.compactMap { entry in
        guard (entry["format"] as? String ?? "").lowercased().contains("torchscript"), entry["io_twin"] is String else { return nil }
        return entry["file"] as? String
    }

    @Test func manifestHasCLIPCases() {
        #expect(!FeatureFixtures.ioFiles(kind: "clip").isEmpty, "no clip case in the fixture manifest")
        #expect(!FeatureFixtures.ioFiles(kind: "clip_rn").isEmpty, "no clip_rn case in the fixture manifest")
        #expect(!Self.torchScriptFiles.isEmpty, "no TorchScript CLIP archive in the fixture manifest")
    }

    /// The model of io case `file`, read from `weightsFile` (default: the case's `weights_file`) and configured
    /// by the manifest's `model_config` (upstream `CLIP.__init__` keys) with the case's epsilons; recognition
    /// from the shapes, given the case's head counts, must agree with it.
    static func load(_ file: String, weightsFile: String? = nil) throws -> CLIPModel {
        let c = try FeatureFixtures.caseInfo(file)
        let weights = try weightsFile ?? #require(c["weights_file"] as? String)
        let store = WeightStore(try Checkpoint.open(Fixtures.path(weights)))
        var config = try CLIPConfig(modelConfig: try #require(try FeatureFixtures.entry(file)["model_config"] as? [String: Any]))
        if let eps = c["layer_norm_eps"] as? Double { config.layerNormEps = Float(eps) }
        if let eps = c["batch_norm_eps"] as? Double { config.batchNormEps = Float(eps) }
        var recognised = try CLIPConfig.recognise(store, visionHeads: c["vision_heads"] as? Int, textHeads: c["text_heads"] as? Int)
        (recognised.layerNormEps, recognised.batchNormEps) = (config.layerNormEps, config.batchNormEps)
        #expect(recognised == config, "\(weights): shapes say \(recognised), model_config says \(config)")
        switch config.vision {
        case .transformer(_, _, let heads, _): #expect(c["vision_heads"] == nil || heads == c["vision_heads"] as? Int)
        case .resNet(_, _, let heads): #expect(c["vision_heads"] == nil || heads == c["vision_heads"] as? Int)
        }
        return try CLIPModel(weights: store, config: config)
    }

    static func checkImage(_ model: CLIPModel, io file: String, label: String) throws {
        let io = try Fixtures.safetensors(file)
        let c = try FeatureFixtures.caseInfo(file)
        let image = try FeatureFixtures.tensor(io, "image", file: file)
        var stages: [Tensor] = []
        let out = try model.encodeImage(Variable(image), stageOutputs: { stages.append($0.value) })
        FeatureFixtures.expectClose(out.value, try FeatureFixtures.tensor(io, "encode_image", file: file), "\(label) encode_image")
        if let names = c["intermediates"] as? [String] {
            #expect(names.count == stages.count, "\(label): \(stages.count) stage outputs for \(names.count) intermediates")
            for (name, stage) in zip(names, stages) {
                FeatureFixtures.expectClose(stage, try FeatureFixtures.tensor(io, name, file: file), "\(label) \(name)")
            }
        }
        let tape = Tape()
        let x = tape.watch(image)
        let y = try model.encodeImage(x)
        let g = tape.gradients(of: y, cotangent: try FeatureFixtures.tensor(io, "G", file: file), wrt: [x])[0]
        FeatureFixtures.expectClose(g, try FeatureFixtures.tensor(io, "grad_image", file: file), "\(label) grad_image")
    }

    static func checkText(_ model: CLIPModel, io file: String, label: String) throws {
        let io = try Fixtures.safetensors(file)
        let ids = try FeatureFixtures.tensor(io, "tokens", file: file)
        let (rows, ctx) = (ids.shape[0], ids.shape[1])
        let s = ids.scalars
        let tokens = (0..<rows).map { r in (0..<ctx).map { Int32(s[r * ctx + $0]) } }
        FeatureFixtures.expectClose(try model.encodeText(tokens), try FeatureFixtures.tensor(io, "encode_text", file: file), "\(label) encode_text")
    }

    @Test(arguments: cases) func imageParity(_ file: String) throws {
        try Self.checkImage(try Self.load(file), io: file, label: file)
    }

    @Test(arguments: cases) func textParity(_ file: String) throws {
        try Self.checkText(try Self.load(file), io: file, label: file)
    }

    /// The TorchScript archive gives the same model as its io twin's weights.
    @Test(arguments: torchScriptFiles) func torchScriptParity(_ archive: String) throws {
        let io = try #require(try FeatureFixtures.entry(archive)["io_twin"] as? String)
        let model = try Self.load(io, weightsFile: archive)
        try Self.checkImage(model, io: io, label: "\(archive) via \(io)")
        try Self.checkText(model, io: io, label: "\(archive) via \(io)")
    }

    /// `CLIPModel(contentsOf:)` reads a `<stem>.json` model config beside the checkpoint: here the archive's
    /// own `model_config` (whose text head count the shapes cannot tell).
    @Test(arguments: torchScriptFiles) func checkpointWithJSONConfigParity(_ archive: String) throws {
        let entry = try FeatureFixtures.entry(archive)
        let io = try #require(entry["io_twin"] as? String)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-json-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent(archive)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: Fixtures.path(archive))
        let json = try JSONSerialization.data(withJSONObject: try #require(entry["model_config"] as? [String: Any]))
        try json.write(to: link.deletingPathExtension().appendingPathExtension("json"))
        let model = try CLIPModel(contentsOf: link.path)
        try Self.checkImage(model, io: io, label: "\(archive) + JSON config")
        try Self.checkText(model, io: io, label: "\(archive) + JSON config")
    }
}

/// Recognition from shapes, preprocessing and input checks that need no fixture.
@Suite struct CLIPConfigTests {
    /// ViT-B/32 shapes (spec D.5).
    static func vitB32() -> [String: [Int]] {
        var s: [String: [Int]] = [
            "visual.proj": [768, 512], "visual.conv1.weight": [768, 3, 32, 32], "visual.positional_embedding": [50, 768],
            "text_projection": [512, 512], "positional_embedding": [77, 512], "token_embedding.weight": [49408, 512],
            "ln_final.weight": [512],
        ]
        for i in 0..<12 {
            s["visual.transformer.resblocks.\(i).attn.in_proj_weight"] = [2304, 768]
            s["transformer.resblocks.\(i).attn.in_proj_weight"] = [1536, 512]
        }
        return s
    }

    @Test func recognisesViTB32() throws {
        let c = try CLIPConfig.recognise(WeightStore(ShapesOnlyArchive(shapes: Self.vitB32())))
        #expect(c.vision == .transformer(width: 768, layers: 12, heads: 12, patchSize: 32))
        #expect(c.imageResolution == 224 && c.embedDim == 512)
        #expect(c.text == CLIPConfig.Text(width: 512, layers: 12, heads: 8, contextLength: 77, vocabSize: 49408))
        #expect(c.name == "ViT-B/32")
    }

    @Test func recognisesRN50x4() throws {
        // RN50x4: stages (4, 6, 10, 6), width 80, 288 px (9x9 pooled grid), embed 640.
        var s: [String: [Int]] = [
            "visual.layer1.0.conv1.weight": [80, 80, 1, 1], "visual.attnpool.positional_embedding": [82, 2560],
            "visual.attnpool.c_proj.weight": [640, 2560],
        ]
        for (stage, count) in [4, 6, 10, 6].enumerated() {
            for b in 0..<count { s["visual.layer\(stage + 1).\(b).conv1.weight"] = [1] }
        }
        s["visual.layer1.0.conv1.weight"] = [80, 80, 1, 1]
        let c = try CLIPConfig.recognise(WeightStore(ShapesOnlyArchive(shapes: s)))
        #expect(c.vision == .resNet(layers: [4, 6, 10, 6], width: 80, heads: 40))
        #expect(c.imageResolution == 288 && c.embedDim == 640 && c.text == nil)
        #expect(c.name == "RN50x4")
    }

    @Test func modelConfigDerivesHeadsLikeUpstream() throws {
        let vit = try CLIPConfig(modelConfig: [
            "embed_dim": 512, "image_resolution": 224, "vision_layers": 12, "vision_width": 768, "vision_patch_size": 32,
            "context_length": 77, "vocab_size": 49408, "transformer_width": 512, "transformer_heads": 8, "transformer_layers": 12,
        ])
        #expect(vit == (try CLIPConfig.recognise(WeightStore(ShapesOnlyArchive(shapes: Self.vitB32())))))
        let rn = try CLIPConfig(modelConfig: [
            "embed_dim": 1024, "image_resolution": 224, "vision_layers": [3, 4, 6, 3], "vision_width": 64, "vision_patch_size": NSNull(),
            "context_length": 77, "vocab_size": 49408, "transformer_width": 512, "transformer_heads": 8, "transformer_layers": 12,
        ])
        #expect(rn.vision == .resNet(layers: [3, 4, 6, 3], width: 64, heads: 32) && rn.name == "RN50")
        #expect(throws: CLIPError.self) { try CLIPConfig(modelConfig: ["embed_dim": 512]) }
    }

    @Test func rejectsForeignCheckpoint() {
        #expect(throws: CLIPError.self) { try CLIPConfig.recognise(WeightStore(ShapesOnlyArchive(shapes: ["blocks.0.attn.qkv.weight": [3, 1]]))) }
    }

    @Test func resizeSizesFollowTorchvision() {
        #expect(ImagePreprocessing.resizedSize(height: 256, width: 256, shorterSide: 224) == (224, 224))
        #expect(ImagePreprocessing.resizedSize(height: 300, width: 400, shorterSide: 224) == (224, 298))
        #expect(ImagePreprocessing.resizedSize(height: 1000, width: 200, shorterSide: 224, maxSize: 480) == (480, 96))
    }

    @Test func centerCropRoundsHalfToEven() {
        let x = Variable(Tensor(shape: [1, 1, 3, 5], scalars: (0..<15).map(Float.init)))
        // (3-2)/2 = 0.5 -> 0, (5-2)/2 = 1.5 -> 2
        #expect(ImagePreprocessing.centerCrop(x, height: 2, width: 2).value.scalars == [2, 3, 7, 8])
    }
}

/// CLIP's ncuts=0 path of DiffuseIT (`test_prep`: resize, centre crop, normalise; encode; L2-normalise) on the
/// `kind: diffuseit_losses` cases.
@Suite struct CLIPPreprocessingParityTests {
    @Test(arguments: FeatureFixtures.ioFiles(kind: "diffuseit_losses")) func sourceEmbeddingParity(_ file: String) throws {
        let entry = try FeatureFixtures.entry(file)
        let c = try FeatureFixtures.caseInfo(file)
        let clipConfig = try #require((entry["clip_part"] as? [String: Any])?["model_config"] as? [String: Any], "\(file) has no clip_part.model_config")
        let weights = try #require(c["clip_weights_file"] as? String)
        let model = try CLIPModel(weights: WeightStore(Checkpoint.open(Fixtures.path(weights))), config: CLIPConfig(modelConfig: clipConfig))
        let io = try Fixtures.safetensors(file)
        let source = Variable(try FeatureFixtures.tensor(io, "source", file: file))
        let unit = source * 0.5 + Variable(Tensor(shape: [1], scalars: [0.5]))
        let e = try model.encodeImage(CLIPPreprocessing.prepare(unit, resolution: model.inputResolution)).value.scalars
        let norm = e.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let expected = try FeatureFixtures.tensor(io, "clip_E_I0", file: file)
        FeatureFixtures.expectClose(Tensor(shape: expected.shape, scalars: e.map { $0 / norm }), expected, "\(file) clip_E_I0")
    }
}
