import Engine
import FixtureSupport
import Foundation
import ModelsTestSupport
import Testing

/// `stylefilter style --faces` end to end: a small random-weight U-Net of the FFHQ model's shape
/// (256x256, one res block per level, attention at 16; 32 channels instead of 128), the narrowed
/// ArcFace IR-SE of the parity fixtures, the test DINO. Plumbing, not quality.
@Suite(.serialized) struct FacesStyleCommandTests {
    struct Models {
        let base: StyleCommandTests.Models
        var unet: String { base.directory.appendingPathComponent("ffhq.safetensors").path }
        var arcface: String { base.directory.appendingPathComponent("arcface.safetensors").path }
        var arguments: [String] { ["--faces", "--unet", unet, "--dino", base.dino, "--arcface", arcface] }
    }

    /// The FFHQ layout (``UNetConfig/ffhq256``) narrowed to 32 channels, with its config beside it.
    static let unetConfig = UNetConfig(
        imageSize: 256, modelChannels: 32, outChannels: 6, numResBlocks: 1, attentionResolutions: [16],
        channelMult: [1, 1, 2, 2, 4, 4], numHeads: 4, numHeadChannels: 64, useScaleShiftNorm: true, resblockUpdown: true)

    static func makeModels() throws -> Models {
        let base = try StyleCommandTests.makeModels()
        let m = Models(base: base)
        try ModelsTestSupport.randomSafetensors(unetConfig.parameterShapes().map { ($0.name, $0.shape) }).write(to: URL(fileURLWithPath: m.unet))
        try JSONEncoder().encode(unetConfig).write(to: base.directory.appendingPathComponent("ffhq.json"))
        // The narrowed IR-SE weights of the manifest's ArcFace case.
        let arcfaceCase = try #require(Fixtures.entries(kind: "arcface").first?["case"] as? [String: Any])
        let weights = try #require(arcfaceCase["weights_file"] as? String)
        try FileManager.default.copyItem(at: Fixtures.directory.appendingPathComponent(weights), to: URL(fileURLWithPath: m.arcface))
        return m
    }

    static let quick = StyleCommandTests.quick

    @Test func imageModeChainedWithThumbnailAndCropIsDeterministicBySeed() throws {
        let m = try Self.makeModels()
        let args = ["thumbnail", "300x300", "+", "style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.arguments + Self.quick
            + ["+", "crop", "200x150+10+20"]
        let input = try CLIRunner.sampleData("chelsea.png")
        let a = try CLIRunner.run(["--seed", "5"] + args, stdin: input)
        let b = try CLIRunner.run(["--seed", "5"] + args, stdin: input)
        let c = try CLIRunner.run(["--seed", "6"] + args, stdin: input)
        #expect(a.status == 0 && b.status == 0 && c.status == 0, "\(a.stderr) \(c.stderr)")
        let h = try header(of: a.stdout)
        #expect(h["width"] == "200" && h["height"] == "150", "\(h)")
        #expect(a.stdout == b.stdout, "same seed, different bytes")
        #expect(a.stdout != c.stdout, "different seeds, same bytes")
    }

    @Test func textModeRunsWithTheIdentityLoss() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(
            ["-v", "style", "--prompt", "old man", "--source-prompt", "man", "--clip", m.base.clip] + m.arguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let h = try header(of: result.stdout)
        #expect(h["width"] == "451" && h["height"] == "300", "\(h)")
    }

    /// The identity weight reaches the output: id_lambda 0 and 100 give different images from the same seed.
    @Test func idLambdaChangesTheResult() throws {
        let m = try Self.makeModels()
        let args = ["style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.arguments + Self.quick
        let input = try CLIRunner.sampleData("chelsea.png")
        let on = try CLIRunner.run(args, stdin: input)
        let off = try CLIRunner.run(args + ["--param", "id_lambda=0"], stdin: input)
        #expect(on.status == 0 && off.status == 0, "\(on.stderr) \(off.stderr)")
        #expect(on.stdout != off.stdout)
    }

    /// In the tiled modes the identity term reads the whole-image view, as the other whole-image terms do.
    @Test func tiledModeRunsWithTheIdentityLossOnTheView() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(
            ["thumbnail", "300x300", "+", "style", "--mode", "tiled", "--style-image", CLIRunner.sample("rocket.jpg")] + m.arguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let h = try header(of: result.stdout)
        #expect(h["width"] == "300" && h["height"] == "200", "\(h)")
    }

    @Test func missingArcFaceExits78NamingIt() throws {
        let m = try Self.makeModels()
        let empty = m.base.directory.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let result = try CLIRunner.run(
            ["style", "--faces", "--style-image", CLIRunner.sample("rocket.jpg"), "--unet", m.unet, "--dino", m.base.dino, "--models-dir", empty.path],
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 78, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("model_ir_se50.pth") && result.stderr.contains("drive.google.com"), "\(result.stderr)")
        #expect(result.stdout.isEmpty && result.stderr.split(separator: "\n").count == 1)
    }

    @Test func aUNetTooSmallForTheIdentityCropExits78() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(
            ["style", "--faces", "--style-image", CLIRunner.sample("rocket.jpg"), "--unet", m.base.unet, "--dino", m.base.dino, "--arcface", m.arcface],
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 78 && result.stderr.contains("identity crop"), "\(result.status) \(result.stderr)")
    }

    @Test func dryRunCountsTheArcFacePasses() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(["style", "--prompt", "a", "--source-prompt", "b", "--clip", m.base.clip, "--dry-run", "--size", "256x256"] + m.arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let text = String(decoding: result.stdout, as: UTF8.self)
        for needle in ["faces", "ArcFace: \(m.arcface)", "1 ArcFace forward+backward", "ArcFace 69", "id_lambda 100", "threshold 0.1", "estimated time"] {
            #expect(text.contains(needle), "plan lacks '\(needle)': \(text)")
        }
    }

    @Test func arcfaceWithoutFacesIsAUsageError() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(["style", "--style-image", "x.png", "--arcface", m.arcface], stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 64 && result.stderr.contains("--faces"), "\(result.stderr)")
    }
}
