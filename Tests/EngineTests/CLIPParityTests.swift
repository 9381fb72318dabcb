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

    /// Loads the model of io case `file` from `weightsPath` (default: the case's `weights_file`), with the
    /// head counts and epsilons the case states, and checks the recognised config against `model_config`.
    static func load(_ file: String, weightsFile: String? = nil) throws -> CLIPModel {
        let c = try FeatureFixtures.caseInfo(file)
        let weights = try weightsFile ?? #require(c["weights_file"] as? String)
        let store = WeightStore(try Checkpoint.open(Fixtures.path(weights)))
        var config = try CLIPConfig.recognise(store, visionHeads: c["vision_heads"] as? Int, textHeads: c["text_heads"] as? Int)
        if let eps = c["layer_norm_eps"] as? Double { config.layerNormEps = Float(eps) }
        if let eps = c["batch_norm_eps"] as? Double { config.batchNormEps = Float(eps) }
        if let m = try FeatureFixtures.entry(file)["model_config"] as? [String: Any] {
            #expect(config.embedDim == m["embed_dim"] as? Int)
            #expect(config.imageResolution == m["image_resolution"] as? Int)
            switch config.vision {
            case .transformer(let width, let layers, _, let patch):
                #expect(width == m["vision_width"] as? Int && layers == m["vision_layers"] as? Int && patch == m["vision_patch_size"] as? Int)
            case .resNet(let layers, let width, _):
                #expect(width == m["vision_width"] as? Int && layers == m["vision_layers"] as? [Int])
            }
            #expect(config.text?.width == m["transformer_width"] as? Int && config.text?.layers == m["transformer_layers"] as? Int)
            #expect(config.text?.contextLength == m["context_length"] as? Int && config.text?.vocabSize == m["vocab_size"] as? Int)
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
