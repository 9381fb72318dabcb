import Foundation
import Testing
import FixtureSupport

/// End-to-end runs of `stylefilter style` with small random-weight networks of the real
/// architectures in official formats (the parity fixtures: a safetensors ADM U-Net, a 12-block DINO
/// ViT, OpenAI's TorchScript CLIP archive format), each with a `<stem>.json` config beside it. These
/// prove the plumbing (modes, chaining, determinism, errors), not quality.
@Suite(.serialized) struct StyleCommandTests {
    /// A temporary models folder holding the tiny networks.
    struct Models {
        let directory: URL
        var unet: String { directory.appendingPathComponent("unet.safetensors").path }
        var dino: String { directory.appendingPathComponent("dino.safetensors").path }
        var clip: String { directory.appendingPathComponent("clip.pt").path }
        var modelArguments: [String] { ["--unet", unet, "--dino", dino] }
    }

    static let fixtures: URL = Fixtures.directory

    /// Copies the networks of the manifest's guided-step case and writes their configs.
    static func makeModels() throws -> Models {
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("manifest.json"))) as? [String: Any])
        let files = try #require(manifest["files"] as? [[String: Any]])
        let steps = try #require(files.first { ($0["case"] as? [String: Any])?["kind"] as? String == "diffuseit_steps" })
        let c = try #require(steps["case"] as? [String: Any])
        let clipJIT = try #require(files.first { ($0["format"] as? String)?.contains("TorchScript") == true }?["file"] as? String)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-style-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let fm = FileManager.default
        try fm.copyItem(at: fixtures.appendingPathComponent(try #require(c["unet_weights_file"] as? String)), to: dir.appendingPathComponent("unet.safetensors"))
        try fm.copyItem(at: fixtures.appendingPathComponent(try #require(c["dino_weights_file"] as? String)), to: dir.appendingPathComponent("dino.safetensors"))
        try fm.copyItem(at: fixtures.appendingPathComponent(clipJIT), to: dir.appendingPathComponent("clip.pt"))
        let dinoConfig = c["dino_config"] as? [String: Any]
        let clipConfig = c["clip_config"] as? [String: Any]
        try JSONSerialization.data(withJSONObject: try #require(c["unet_config"])).write(to: dir.appendingPathComponent("unet.json"))
        try JSONSerialization.data(withJSONObject: ["num_heads": dinoConfig?["num_heads"] ?? 1, "global_patch_size": c["dino_global_patch_size"] ?? 224])
            .write(to: dir.appendingPathComponent("dino.json"))
        try JSONSerialization.data(withJSONObject: ["transformer_heads": clipConfig?["transformer_heads"] ?? 1]).write(to: dir.appendingPathComponent("clip.json"))
        return Models(directory: dir)
    }

    /// Few steps, no restarts (random networks leave [-1, 1] at once).
    static let quick = ["--steps", "6", "--param", "resample_num=2", "--param", "use_range_restart=false", "--param", "aug_num=2"]

    @Test func imageModeKeepsSizeAndAlpha() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(["style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("rgba16.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let h = try header(of: result.stdout)
        #expect(h["width"] == "160" && h["height"] == "106" && h["bands"] == "4", "\(h)")
    }

    @Test func textModeRunsWithTorchScriptCLIP() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(["style", "--prompt", "black leopard", "--source-prompt", "lion", "--clip", m.clip] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let h = try header(of: result.stdout)
        #expect(h["width"] == "451" && h["height"] == "300", "\(h)")
    }

    @Test func chainedWithResizeAndCropAndDeterministicBySeed() throws {
        let m = try Self.makeModels()
        let args = ["resize", "--width", "64", "+", "style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick
            + ["+", "crop", "40x30+2+3"]
        let input = try CLIRunner.sampleData("chelsea.png")
        let a = try CLIRunner.run(["--seed", "7"] + args, stdin: input)
        let b = try CLIRunner.run(["--seed", "7"] + args, stdin: input)
        let c = try CLIRunner.run(["--seed", "8"] + args, stdin: input)
        #expect(a.status == 0 && b.status == 0 && c.status == 0, "\(a.stderr) \(c.stderr)")
        let h = try header(of: a.stdout)
        #expect(h["width"] == "40" && h["height"] == "30", "\(h)")
        #expect(a.stdout == b.stdout, "same seed, different bytes")
        #expect(a.stdout != c.stdout, "different seeds, same bytes")
    }

    @Test func missingWeightsExit78WithNamesPlacesAndURLs() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let result = try CLIRunner.run(["style", "--prompt", "a", "--source-prompt", "b", "--models-dir", empty.path, "--clip-models", "ViT-B/32"],
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 78)
        for needle in ["256x256_diffusion_uncond.pt", "dino_vitbase8_pretrain.pth", "ViT-B-32.pt", empty.path,
                       "https://openaipublic.blob.core.windows.net/diffusion/jul-2021/256x256_diffusion_uncond.pt",
                       "https://dl.fbaipublicfiles.com/dino/dino_vitbase8_pretrain/dino_vitbase8_pretrain.pth"] {
            #expect(result.stderr.contains(needle), "stderr lacks \(needle): \(result.stderr)")
        }
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func corruptCheckpointExit78() throws {
        let m = try Self.makeModels()
        try Data("not a checkpoint at all".utf8).write(to: URL(fileURLWithPath: m.unet))
        let result = try CLIRunner.run(["style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 78, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("unet.safetensors"))
    }

    @Test func styleImageThatIsNotAnImageExit65() throws {
        let m = try Self.makeModels()
        let bogus = m.directory.appendingPathComponent("style.png")
        try Data("hello".utf8).write(to: bogus)
        let result = try CLIRunner.run(["style", "--style-image", bogus.path] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 65, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("style.png"))
    }

    @Test func dryRunPrintsThePlanAndComputesNothing() throws {
        let m = try Self.makeModels()
        let result = try CLIRunner.run(["style", "--prompt", "a", "--source-prompt", "b", "--clip", m.clip, "--dry-run"] + m.modelArguments,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let text = String(decoding: result.stdout, as: UTF8.self)
        #expect(text.contains("69 guided steps") && text.contains("estimated time"), "\(text)")
    }

    @Test func usageErrors() throws {
        let both = try CLIRunner.run(["style", "--style-image", "x.png", "--prompt", "a"], stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(both.status == 64)
        let badParam = try CLIRunner.run(["style", "--style-image", "x.png", "--param", "nonsense=1"], stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(badParam.status == 64 && badParam.stderr.contains("nonsense"))
        // A schedule that leaves no step is refused before any model is read, in every mode.
        for mode in ["whole", "tiled"] {
            let noStep = try CLIRunner.run(["style", "--mode", mode, "--style-image", "x.png", "--steps", "10", "--skip", "10"],
                stdin: try CLIRunner.sampleData("chelsea.png"))
            #expect(noStep.status == 64 && noStep.stderr.contains("style: skip_timesteps 10 leaves no step of 10"), "\(noStep.stderr)")
        }
    }
}
