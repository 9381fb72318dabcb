import Engine
import Foundation
@testable import StyleFilter
import Testing

/// The shape-only architecture recognisers: the fixture weights (configs from the fixture manifest) and
/// synthetic archives with the exact tensor layout of the official checkpoints.
@Suite("Models architecture recognition")
struct ModelsRecogniserTests {
    /// Names and shapes only; reading data is an error (recognisers must never need it).
    struct ShapeOnlyArchive: TensorArchive {
        let list: [(String, [Int])]
        var tensorNames: [String] { list.map(\.0) }
        func shape(of name: String) -> [Int]? { list.first { $0.0 == name }?.1 }
        func tensor(named name: String) throws -> Tensor { throw CheckpointError.missingTensor(name: name) }
        var parameters: Int { list.reduce(0) { $0 + $1.1.reduce(1, *) } }
    }

    static var fixtures: URL {
        if let path = ProcessInfo.processInfo.environment["STYLEFILTER_FIXTURES"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// Manifest entries that describe a weights file: a `model_config` and no io `case`.
    static func weightEntries() throws -> [[String: Any]] {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("manifest.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let files = try #require(manifest["files"] as? [[String: Any]])
        return files.filter { $0["model_config"] != nil && $0["case"] == nil }
    }

    static func matches(_ value: ConfigValue, _ json: Any) -> Bool {
        switch value {
        case .int(let int): return (json as? NSNumber)?.intValue == int
        case .ints(let ints): return (json as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } == ints
        case .bool(let bool): return (json as? Bool) == bool
        case .none: return json is NSNull
        }
    }

    @Test("Every fixture weights file is recognised, with the manifest's configuration numbers")
    func fixtureWeights() throws {
        let entries = try Self.weightEntries()
        #expect(entries.count >= 4)
        for entry in entries {
            let file = try #require(entry["file"] as? String)
            let config = try #require(entry["model_config"] as? [String: Any])
            let archive = try Checkpoint.open(Self.fixtures.appendingPathComponent(file).path)
            let found = try #require(ArchitectureRecognition.recognise(archive), "\(file) not recognised")
            var compared = 0
            for item in found.config {
                guard let expected = config[item.name] else { continue }
                compared += 1
                #expect(Self.matches(item.value, expected), "\(file): \(item.name) is \(item.value), manifest says \(expected)")
            }
            #expect(compared >= 4, "\(file): only \(compared) configuration values could be compared")
            if let count = entry["num_tensors"] as? Int { #expect(archive.tensorNames.count == count, "\(file)") }
            // Tiny test networks are no published variant.
            #expect(found.variant == nil && ModelCatalog.entry(named: found.identifier) == nil, "\(file): \(found.identifier)")
        }
    }

    // MARK: Official layouts (spec A.7, C.4, D.5)

    static func unet(channels c: Int, resBlocks r: Int, attention: Set<Int>, mult: [Int] = [1, 1, 2, 2, 4, 4]) -> ShapeOnlyArchive {
        let e = 4 * c
        var list: [(String, [Int])] = [
            ("time_embed.0.weight", [e, c]), ("time_embed.0.bias", [e]), ("time_embed.2.weight", [e, e]), ("time_embed.2.bias", [e]),
            ("input_blocks.0.0.weight", [c, 3, 3, 3]), ("input_blocks.0.0.bias", [c]),
        ]
        func res(_ p: String, _ cin: Int, _ cout: Int) {
            list += [
                ("\(p).in_layers.0.weight", [cin]), ("\(p).in_layers.0.bias", [cin]), ("\(p).in_layers.2.weight", [cout, cin, 3, 3]),
                ("\(p).in_layers.2.bias", [cout]), ("\(p).emb_layers.1.weight", [2 * cout, e]), ("\(p).emb_layers.1.bias", [2 * cout]),
                ("\(p).out_layers.0.weight", [cout]), ("\(p).out_layers.0.bias", [cout]), ("\(p).out_layers.3.weight", [cout, cout, 3, 3]),
                ("\(p).out_layers.3.bias", [cout]),
            ]
            if cin != cout { list += [("\(p).skip_connection.weight", [cout, cin, 1, 1]), ("\(p).skip_connection.bias", [cout])] }
        }
        func attn(_ p: String, _ ch: Int) {
            list += [
                ("\(p).norm.weight", [ch]), ("\(p).norm.bias", [ch]), ("\(p).qkv.weight", [3 * ch, ch, 1]), ("\(p).qkv.bias", [3 * ch]),
                ("\(p).proj_out.weight", [ch, ch, 1]), ("\(p).proj_out.bias", [ch]),
            ]
        }
        var skips = [c]
        var ch = c
        var ds = 1
        var index = 1
        for (level, m) in mult.enumerated() {
            for _ in 0..<r {
                res("input_blocks.\(index).0", ch, m * c)
                ch = m * c
                if attention.contains(ds) { attn("input_blocks.\(index).1", ch) }
                skips.append(ch)
                index += 1
            }
            if level != mult.count - 1 {
                res("input_blocks.\(index).0", ch, ch)
                skips.append(ch)
                ds *= 2
                index += 1
            }
        }
        res("middle_block.0", ch, ch)
        attn("middle_block.1", ch)
        res("middle_block.2", ch, ch)
        var j = 0
        for (level, m) in mult.enumerated().reversed() {
            for i in 0...r {
                res("output_blocks.\(j).0", ch + skips.removeLast(), m * c)
                ch = m * c
                var child = 1
                if attention.contains(ds) {
                    attn("output_blocks.\(j).1", ch)
                    child = 2
                }
                if level > 0 && i == r {
                    res("output_blocks.\(j).\(child)", ch, ch)
                    ds /= 2
                }
                j += 1
            }
        }
        list += [("out.0.weight", [ch]), ("out.0.bias", [ch]), ("out.2.weight", [6, ch, 3, 3]), ("out.2.bias", [6])]
        return ShapeOnlyArchive(list: list)
    }

    static func dino(dim d: Int, patch p: Int) -> ShapeOnlyArchive {
        let grid = 224 / p
        var list: [(String, [Int])] = [
            ("cls_token", [1, 1, d]), ("pos_embed", [1, grid * grid + 1, d]), ("patch_embed.proj.weight", [d, 3, p, p]), ("patch_embed.proj.bias", [d]),
        ]
        for b in 0..<12 {
            let q = "blocks.\(b)"
            list += [
                ("\(q).norm1.weight", [d]), ("\(q).norm1.bias", [d]), ("\(q).attn.qkv.weight", [3 * d, d]), ("\(q).attn.qkv.bias", [3 * d]),
                ("\(q).attn.proj.weight", [d, d]), ("\(q).attn.proj.bias", [d]), ("\(q).norm2.weight", [d]), ("\(q).norm2.bias", [d]),
                ("\(q).mlp.fc1.weight", [4 * d, d]), ("\(q).mlp.fc1.bias", [4 * d]), ("\(q).mlp.fc2.weight", [d, 4 * d]), ("\(q).mlp.fc2.bias", [d]),
            ]
        }
        list += [("norm.weight", [d]), ("norm.bias", [d])]
        return ShapeOnlyArchive(list: list)
    }

    static func clipText(width w: Int, embed: Int) -> [(String, [Int])] {
        var list: [(String, [Int])] = [
            ("positional_embedding", [77, w]), ("text_projection", [w, embed]), ("logit_scale", []), ("token_embedding.weight", [49408, w]),
            ("ln_final.weight", [w]), ("ln_final.bias", [w]),
        ]
        list += block("transformer.resblocks", width: w)
        return list
    }

    static func block(_ prefix: String, width w: Int) -> [(String, [Int])] {
        (0..<12).flatMap { b -> [(String, [Int])] in
            let q = "\(prefix).\(b)"
            return [
                ("\(q).attn.in_proj_weight", [3 * w, w]), ("\(q).attn.in_proj_bias", [3 * w]), ("\(q).attn.out_proj.weight", [w, w]),
                ("\(q).attn.out_proj.bias", [w]), ("\(q).ln_1.weight", [w]), ("\(q).ln_1.bias", [w]), ("\(q).mlp.c_fc.weight", [4 * w, w]),
                ("\(q).mlp.c_fc.bias", [4 * w]), ("\(q).mlp.c_proj.weight", [w, 4 * w]), ("\(q).mlp.c_proj.bias", [w]), ("\(q).ln_2.weight", [w]),
                ("\(q).ln_2.bias", [w]),
            ]
        }
    }

    static func clipViT(patch p: Int) -> ShapeOnlyArchive {
        let grid = 224 / p
        var list = clipText(width: 512, embed: 512)
        list += [
            ("visual.class_embedding", [768]), ("visual.positional_embedding", [grid * grid + 1, 768]), ("visual.proj", [768, 512]),
            ("visual.conv1.weight", [768, 3, p, p]), ("visual.ln_pre.weight", [768]), ("visual.ln_pre.bias", [768]),
            ("visual.ln_post.weight", [768]), ("visual.ln_post.bias", [768]),
        ]
        list += block("visual.transformer.resblocks", width: 768)
        return ShapeOnlyArchive(list: list)
    }

    /// The tensors a ModifiedResNet CLIP's recognition rests on (stage depths, stem width, attention pool).
    static func clipResNet(layers: [Int], width: Int, resolution: Int, embed: Int, textWidth: Int) -> ShapeOnlyArchive {
        var list = clipText(width: textWidth, embed: embed)
        let side = resolution / 32
        list += [("visual.attnpool.positional_embedding", [side * side + 1, width * 32]), ("visual.attnpool.c_proj.weight", [embed, width * 32])]
        for (stage, count) in layers.enumerated() {
            for b in 0..<count {
                let planes = width << stage
                list += [("visual.layer\(stage + 1).\(b).conv1.weight", [planes, b == 0 && stage == 0 ? width : planes * 4, 1, 1])]
            }
        }
        return ShapeOnlyArchive(list: list)
    }

    static func arcFace(units: Int, squeezeExcite: Bool) -> ShapeOnlyArchive {
        var list: [(String, [Int])] = [("input_layer.0.weight", [64, 3, 3, 3]), ("output_layer.3.weight", [512, 512 * 7 * 7])]
        for u in 0..<units {
            list += [("body.\(u).res_layer.1.weight", [64, 64, 3, 3])]
            if squeezeExcite { list += [("body.\(u).res_layer.5.fc1.weight", [4, 64, 1, 1])] }
        }
        return ShapeOnlyArchive(list: list)
    }

    @Test("The official U-Net layouts: 566 tensors / 552,814,086 parameters and 362 / 93,563,910, named")
    func officialUNets() throws {
        let uncond = Self.unet(channels: 256, resBlocks: 2, attention: [8, 16, 32])
        #expect(uncond.list.count == 566 && uncond.parameters == 552_814_086)
        let found = try #require(ArchitectureRecognition.recognise(uncond))
        #expect(found.identifier == "adm-256-uncond" && found.variant == "ImageNet 256x256 unconditional")
        #expect(found.value("channel_mult") == .ints([1, 1, 2, 2, 4, 4]) && found.value("attention_resolutions") == .ints([8, 16, 32]))

        let ffhq = Self.unet(channels: 128, resBlocks: 1, attention: [16])
        #expect(ffhq.list.count == 362 && ffhq.parameters == 93_563_910)
        #expect(ArchitectureRecognition.recognise(ffhq)?.identifier == "adm-ffhq-256")

        // Another configuration is still an ADM U-Net, but no catalogue model.
        let other = try #require(ArchitectureRecognition.recognise(Self.unet(channels: 64, resBlocks: 2, attention: [16])))
        #expect(other.family == "ADM U-Net" && other.identifier == "adm-unet" && other.value("num_res_blocks") == .int(2))
    }

    @Test("The four DINO backbones: 150 tensors each, named by width and patch")
    func officialDINO() throws {
        let b8 = Self.dino(dim: 768, patch: 8)
        #expect(b8.list.count == 150 && b8.parameters == 85_807_872)
        for (dim, patch, name) in [(384, 16, "dino-vits16"), (384, 8, "dino-vits8"), (768, 16, "dino-vitb16"), (768, 8, "dino-vitb8")] {
            let found = try #require(ArchitectureRecognition.recognise(Self.dino(dim: dim, patch: patch)))
            #expect(found.identifier == name && found.value("img_size") == .ints([224]) && found.value("depth") == .int(12))
        }
    }

    @Test("CLIP ViT-B/32 and B/16 (302 tensors, 151,277,313 parameters for B/32) and the three ResNets")
    func officialCLIP() throws {
        let b32 = Self.clipViT(patch: 32)
        #expect(b32.list.count == 302 && b32.parameters == 151_277_313)
        #expect(ArchitectureRecognition.recognise(b32)?.identifier == "clip-vitb32")
        #expect(ArchitectureRecognition.recognise(Self.clipViT(patch: 16))?.identifier == "clip-vitb16")
        let rn50 = try #require(ArchitectureRecognition.recognise(Self.clipResNet(layers: [3, 4, 6, 3], width: 64, resolution: 224, embed: 1024, textWidth: 512)))
        #expect(rn50.identifier == "clip-rn50" && rn50.value("vision_layers") == .ints([3, 4, 6, 3]))
        #expect(ArchitectureRecognition.recognise(Self.clipResNet(layers: [4, 6, 10, 6], width: 80, resolution: 288, embed: 640, textWidth: 640))?.identifier == "clip-rn50x4")
        #expect(ArchitectureRecognition.recognise(Self.clipResNet(layers: [6, 8, 18, 8], width: 96, resolution: 384, embed: 768, textWidth: 768))?.identifier == "clip-rn50x16")
    }

    /// The whole IR-SE-50 layout of `model_ir_se50.pth` (397 tensors with the BatchNorm statistics).
    static var irSE50: ShapeOnlyArchive { ShapeOnlyArchive(list: ArcFaceConfig.irSE50.parameterShapes().map { ($0.name, $0.shape) }) }

    @Test("ArcFace IR-SE50 is named; plain IR-50 and other depths are only the family")
    func arcFace() throws {
        #expect(ArchitectureRecognition.recognise(Self.irSE50)?.identifier == "arcface-ir-se50")
        let plain = try #require(ArchitectureRecognition.recognise(Self.arcFace(units: 24, squeezeExcite: false)))
        #expect(plain.identifier == "arcface" && plain.variant == "IR-50")
        #expect(ArchitectureRecognition.recognise(Self.arcFace(units: 49, squeezeExcite: true))?.variant == "IR-SE-100")
    }

    @Test("The shape recognisers agree with the Engine networks' own recognisers on the official layouts")
    func agreesWithEngineRecognisers() throws {
        #expect(UNetConfig.recognise(from: Self.unet(channels: 256, resBlocks: 2, attention: [8, 16, 32])) == .imageNet256Unconditional)
        #expect(UNetConfig.recognise(from: Self.unet(channels: 128, resBlocks: 1, attention: [16])) == .ffhq256)
        for (dim, patch) in [(384, 16), (768, 8)] {
            let archive = Self.dino(dim: dim, patch: patch)
            let engine = try DINOConfig.recognise(WeightStore(archive))
            let ours = try #require(ArchitectureRecognition.recognise(archive))
            #expect(ours.value("embed_dim") == .int(engine.embedDim) && ours.value("patch_size") == .int(engine.patchSize))
            #expect(ours.value("depth") == .int(engine.depth) && ours.value("img_size") == .ints([engine.trainedGridSize * engine.patchSize]))
        }
        let clip = Self.clipViT(patch: 16)
        let engine = try CLIPConfig.recognise(WeightStore(clip))
        let ours = try #require(ArchitectureRecognition.recognise(clip))
        #expect(engine.vision == .transformer(width: 768, layers: 12, heads: 12, patchSize: 16))
        #expect(ours.value("image_resolution") == .int(engine.imageResolution) && ours.value("embed_dim") == .int(engine.embedDim))
    }

    @Test("Tensors of no known family are not recognised")
    func unknown() {
        #expect(ArchitectureRecognition.recognise(ShapeOnlyArchive(list: [("fc.weight", [10, 4]), ("fc.bias", [10])])) == nil)
        // Half a U-Net (no output blocks) is not guessed at.
        let truncated = ShapeOnlyArchive(list: Self.unet(channels: 32, resBlocks: 1, attention: []).list.filter { !$0.0.hasPrefix("output_blocks") })
        #expect(ArchitectureRecognition.recognise(truncated) == nil)
    }

    @Test("Shape groups collapse block numbers")
    func groups() throws {
        let summary = try CheckpointSummary.read(Self.fixtures.appendingPathComponent("dino_tiny_weights.safetensors").path)
        #expect(summary.format == "safetensors" && summary.tensors.count == 42)
        let qkv = try #require(summary.groups.first { $0.pattern == "blocks.*.attn.qkv.weight" })
        #expect(qkv.count == 3 && qkv.shapes == [[288, 96]] && qkv.dtypes == ["F32"])
    }
}
