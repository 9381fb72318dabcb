import Foundation
import Testing
@testable import Engine

/// Shapes that once trapped the architecture recognisers (rank 0 where a matrix was indexed, a square root of
/// -1 or of Int.max converted to Int, block numbers and channel counts that overflowed): each is refused with a
/// reason. The files are torch zips declaring the shapes without data (`TorchZipBuilder.shapesOnly`).
@Suite struct ShapeRecogniserHostileShapeTests {
    static func archive(_ entries: [(String, [Int])]) throws -> any TensorArchive {
        try HostileFile.withFile("shapes.pt", TorchZipBuilder.shapesOnly(entries.map { (name: $0.0, shape: $0.1) })) {
            try Checkpoint.open($0)
        }
    }

    static let clipViT: [(String, [Int])] = [
        ("visual.proj", [8, 4]), ("visual.conv1.weight", [8, 3, 2, 2]), ("visual.transformer.resblocks.0.attn.in_proj_weight", [24, 8]),
        ("visual.positional_embedding", [5, 8]),
    ]

    @Test func clipPositionalEmbeddingsOfAnyShapeAreRefusedWithAReason() throws {
        let valid = try CLIPConfig.recognise(WeightStore(try Self.archive(Self.clipViT)), visionHeads: 1)
        #expect(valid.imageResolution == 4)
        for positions in [[], [0, 8], [1, 8], [Int.max, 8], [(1 << 62) + 1, 8], [5]] {
            let entries = Self.clipViT.map { $0.0 == "visual.positional_embedding" ? ($0.0, positions) : $0 }
            #expect(throws: CLIPError.self, "\(positions)") { try CLIPConfig.recognise(WeightStore(try Self.archive(entries)), visionHeads: 1) }
        }
        let resNet: [(String, [Int])] = (1...4).map { ("visual.layer\($0).0.conv1.weight", [4, 4, 1, 1]) } + [
            ("visual.attnpool.positional_embedding", [0, 8]), ("visual.attnpool.c_proj.weight", [8, 8]),
        ]
        #expect(throws: CLIPError.self) { try CLIPConfig.recognise(WeightStore(try Self.archive(resNet))) }
        let rankZeroText = Self.clipViT + [("token_embedding.weight", [10, 8]), ("ln_final.weight", [])]
        #expect(throws: CLIPError.self) { try CLIPConfig.recognise(WeightStore(try Self.archive(rankZeroText)), visionHeads: 1) }
    }

    @Test func dinoPositionEmbeddingsAndPatchSizesOfAnyShapeAreRefusedWithAReason() throws {
        func dino(patch: [Int] = [8, 3, 2, 2], positions: [Int] = [1, 5, 8]) -> [(String, [Int])] {
            [("patch_embed.proj.weight", patch), ("pos_embed", positions), ("blocks.0.attn.qkv.weight", [24, 8]), ("blocks.0.mlp.fc1.weight", [32, 8])]
        }
        #expect(try DINOConfig.recognise(WeightStore(try Self.archive(dino())), heads: 1).trainedGridSize == 2)
        for (patch, positions) in [([8, 3, 2, 2], [1, 0, 8]), ([8, 3, 2, 2], [1, Int.max, 8]), ([8, 3, Int.max, Int.max], [1, 5, 8]), ([8, 3, 2, 2], [])] {
            #expect(throws: DINOError.self, "\(patch) \(positions)") {
                try DINOConfig.recognise(WeightStore(try Self.archive(dino(patch: patch, positions: positions))), heads: 1)
            }
        }
    }

    @Test func unetBlockNumbersAndChannelCountsOfAnySizeAreRefused() throws {
        let ffhq = UNetConfig.ffhq256.parameterShapes().map { ($0.name, $0.shape) }
        #expect(UNetArchitecture(try Self.archive(ffhq))?.modelChannels == 128)
        let hugeChannels = ffhq.map { $0.0 == "input_blocks.0.0.weight" ? ($0.0, [1 << 62, 3, 3, 3]) : $0 }
        #expect(UNetArchitecture(try Self.archive(hugeChannels)) == nil)
        for block in ["input_blocks.9223372036854775807.0.weight", "output_blocks.9223372036854775807.1.in_layers.0.weight"] {
            let archive = try Self.archive(ffhq + [(block, [1])])
            #expect(UNetArchitecture(archive) == nil, "\(block)")
            #expect(UNetConfig.recognise(from: archive) == nil, "\(block)")
        }
    }

    @Test func arcFaceLinearOfAnyWidthIsRefused() throws {
        let layout = ArcFaceConfig.irSE50.parameterShapes().map { ($0.name, $0.shape) }
        for width in [0, Int.max, 1 << 40] {
            let entries = layout.map { $0.0 == "output_layer.3.weight" ? ($0.0, [512, width]) : $0 }
            #expect(throws: ArcFaceError.self, "\(width)") { try ArcFaceConfig.recognise(WeightStore(try Self.archive(entries))) }
        }
    }
}

/// The JSON configs that may sit beside a checkpoint are files too: values that would overflow, divide by zero or
/// convert a huge Double to Int are refused with a reason before any network is built.
@Suite struct ModelConfigHostileValueTests {
    @Test func unetConfigsOutsideWhatTheEngineBuildsAreRefused() throws {
        var hugeChannels = UNetConfig.ffhq256
        hugeChannels.modelChannels = 1 << 62
        var zeroHeadWidth = UNetConfig.ffhq256
        zeroHeadWidth.numHeadChannels = 0
        var unevenHeads = UNetConfig.ffhq256
        unevenHeads.numHeadChannels = -1
        unevenHeads.numHeads = 7
        var wideHeads = UNetConfig.ffhq256
        wideHeads.numHeadChannels = 1024  // more than the 512 channels of the attention blocks: zero heads
        for config in [hugeChannels, zeroHeadWidth, unevenHeads, wideHeads] {
            #expect(throws: UNetError.self) { try UNetModel(config: config, weights: WeightStore(ShapeOnlyArchive(entries: []))) }
        }
    }

    @Test func clipAndDinoConfigsWithSizesOutOfRangeAreRefused() throws {
        let clip: [String: Any] = [
            "embed_dim": 1024, "image_resolution": 224, "vision_layers": [3, 4, 6, 3], "vision_width": 64, "context_length": 77,
            "vocab_size": 49408, "transformer_width": 512, "transformer_heads": 8, "transformer_layers": 12,
        ]
        _ = try CLIPConfig(modelConfig: clip)
        for (key, value) in [("vision_width", Int.max as Any), ("vision_layers", [3, 4, -6, 3] as Any), ("embed_dim", 0 as Any)] {
            var m = clip
            m[key] = value
            #expect(throws: CLIPError.self, "\(key)") { try CLIPConfig(modelConfig: m) }
        }
        let dino: [String: Any] = ["img_size": 224, "patch_size": 8, "embed_dim": 768, "depth": 12, "num_heads": 12, "mlp_ratio": 4]
        _ = try DINOConfig(modelConfig: dino)
        for (key, value) in [("mlp_ratio", 1e300 as Any), ("mlp_ratio", -4.0 as Any), ("img_size", Int.max as Any), ("depth", 0 as Any)] {
            var m = dino
            m[key] = value
            #expect(throws: DINOError.self, "\(key) \(value)") { try DINOConfig(modelConfig: m) }
        }
    }
}
