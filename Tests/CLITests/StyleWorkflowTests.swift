import Foundation
import Testing

/// What a person running long style jobs uses, through the real binary with the small test networks:
/// named progress (plain and JSON), a live preview and video frames, provenance in PNG/JPEG/WebP, `info`,
/// replay, `score`, `--models-dir` before the command and a dry run with nothing installed.
@Suite(.serialized) struct StyleWorkflowTests {
    static let quick = StyleCommandTests.quick

    static func scratch() throws -> URL { try CLIRunner.scratch("stylefilter-workflow") }

    @Test func progressNamesItsPhasesInPlainAndJSON() throws {
        let m = try StyleCommandTests.makeModels()
        let args = ["style", "--style-image", CLIRunner.sample("rocket.jpg"), "--iterations", "2", "--iterations-dir", try Self.scratch().path]
            + m.modelArguments + Self.quick
        let plain = try CLIRunner.run(["--progress", "plain"] + args, stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(plain.status == 0, "\(plain.stderr)")
        for needle in ["stylefilter: loading models", "stylefilter: reference features", "stylefilter: step 1/5 of output 1/2",
                       "stylefilter: step 5/5 of output 2/2", "ETA", "stylefilter: colour matching", "stylefilter: encoding"] {
            #expect(plain.stderr.contains(needle), "plain progress lacks '\(needle)': \(plain.stderr)")
        }
        let json = try CLIRunner.run(["--progress", "json"] + args, stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(json.status == 0, "\(json.stderr)")
        let events = try json.stderr.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
        let steps = events.filter { $0["phase"] as? String == "step" }
        #expect(steps.count == 10)
        let last = try #require(steps.last)
        #expect(last["step"] as? Int == 5 && last["steps"] as? Int == 5 && last["output"] as? Int == 2 && last["outputs"] as? Int == 2)
        #expect(steps.allSatisfy { $0["elapsed"] is Double && $0["eta"] is Double })
        #expect(Set(events.compactMap { $0["phase"] as? String }).isSuperset(of: ["loading models", "reference features", "colour matching", "encoding"]))
        let quiet = try CLIRunner.run(["-q", "--progress", "json"] + args, stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(quiet.status == 0 && quiet.stderr.isEmpty)
    }

    /// The preview file is there, a valid image at the output's size, while the run still works; the
    /// frames directory gets one PNG per step; the output is the same as without them.
    @Test func previewAppearsDuringTheRunAndFramesKeepEveryStep() throws {
        let m = try StyleCommandTests.makeModels()
        let dir = try Self.scratch()
        let preview = dir.appendingPathComponent("preview.jpg").path, frames = dir.appendingPathComponent("frames")
        try FileManager.default.createDirectory(at: frames, withIntermediateDirectories: true)
        let long = ["--steps", "60", "--param", "resample_num=2", "--param", "use_range_restart=false", "--param", "aug_num=2"]
        let process = Process()
        process.executableURL = CLIRunner.binary
        process.arguments = ["-i", CLIRunner.sample("chelsea.png"), "-o", dir.appendingPathComponent("out.png").path,
            "style", "--style-image", CLIRunner.sample("rocket.jpg"), "--preview", preview, "--preview-every", "2"] + m.modelArguments + long
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seenWhileRunning = false
        while process.isRunning {
            if FileManager.default.fileExists(atPath: preview) {
                seenWhileRunning = process.isRunning
                break
            }
            usleep(10_000)
        }
        #expect(seenWhileRunning, "no preview before the run ended")
        if seenWhileRunning {
            let h = try header(of: try Data(contentsOf: URL(fileURLWithPath: preview)))
            #expect(h["width"] == "451" && h["height"] == "300", "\(h)")
        }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // No temporary file is left beside the preview.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["frames", "out.png", "preview.jpg"])

        let args = ["style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick
        let withFrames = try CLIRunner.run(args + ["--frames", frames.path], stdin: try CLIRunner.sampleData("chelsea.png"))
        let plain = try CLIRunner.run(args, stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(withFrames.status == 0 && withFrames.stdout == plain.stdout, "\(withFrames.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: frames.path).sorted()
        #expect(names == (1...5).map { String(format: "frame_%05d.png", $0) })
    }

    @Test(arguments: ["png", "jpg", "webp"])
    func provenanceRoundTripsAndReplayGivesTheSameBytes(_ format: String) throws {
        let m = try StyleCommandTests.makeModels()
        let dir = try Self.scratch()
        let out = dir.appendingPathComponent("out.\(format)").path, again = dir.appendingPathComponent("again.\(format)").path
        let made = try CLIRunner.run(
            ["--seed", "11", "-o", out, "resize", "--width", "100", "+", "style", "--prompt", "black leopard", "--source-prompt", "lion",
             "--clip", m.clip, "--param", "lambda_ssim=500"] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(made.status == 0, "\(made.stderr)")
        let info = try CLIRunner.run(["info", out, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
        let provenance = try #require(object["provenance"] as? [String: Any], "\(format): no provenance in \(object)")
        #expect(provenance["seed"] as? Int == 11 && provenance["prompt"] as? String == "black leopard" && provenance["preset"] as? String == "paper")
        #expect((provenance["params"] as? [String: String])?["lambda_ssim"] == "500.0")
        #expect((provenance["models"] as? [[String: Any]])?.map { $0["role"] as? String } == ["unet", "dino", "clip"])
        let text = try CLIRunner.run(["info", out])
        #expect(String(decoding: text.stdout, as: UTF8.self).contains("made by: stylefilter"))

        // A different global seed is overridden by the record's.
        let replayed = try CLIRunner.run(["--seed", "3", "-o", again, "resize", "--width", "100", "+", "style", "--replay", out, "--clip", m.clip]
            + m.modelArguments, stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(replayed.status == 0, "\(replayed.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: again)), "\(format): replay differs")

        let stripped = try CLIRunner.run(["--strip", "-f", format, "copy"], stdin: try Data(contentsOf: URL(fileURLWithPath: out)))
        let strippedInfo = try CLIRunner.run(["info", "--json"], stdin: stripped.stdout)
        #expect((try JSONSerialization.jsonObject(with: strippedInfo.stdout) as? [String: Any])?["provenance"] == nil)
    }

    @Test func replayRefusesAChangedModelAndChangedSettings() throws {
        let m = try StyleCommandTests.makeModels()
        let out = try Self.scratch().appendingPathComponent("out.png").path
        let made = try CLIRunner.run(["-o", out, "style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(made.status == 0, "\(made.stderr)")
        var changed = try Data(contentsOf: URL(fileURLWithPath: m.dino))
        changed.append(0)
        try changed.write(to: URL(fileURLWithPath: m.dino))
        let replay = try CLIRunner.run(["style", "--replay", out, "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(replay.status == 78 && replay.stderr.contains("the dino") && replay.stdout.isEmpty, "\(replay.status) \(replay.stderr)")
        let otherStyle = try CLIRunner.run(["style", "--replay", out, "--style-image", CLIRunner.sample("chelsea.png")] + m.modelArguments,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(otherStyle.status == 64 && otherStyle.stderr.contains("is not the style image rocket.jpg"), "\(otherStyle.stderr)")
        let settings = try CLIRunner.run(["style", "--replay", out, "--steps", "3"] + m.modelArguments, stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(settings.status == 64)
        let none = try CLIRunner.run(["style", "--replay", CLIRunner.sample("chelsea.png")] + m.modelArguments, stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(none.status == 65 && none.stderr.contains("carries no stylefilter provenance"))
    }

    @Test func scoreOfIdenticalImagesIsPerfectAndOfATranslationIsNot() throws {
        let m = try StyleCommandTests.makeModels()
        let same = try CLIRunner.run(["score", "--source", CLIRunner.sample("chelsea.png"), "--prompt", "cat", "--source-prompt", "dog",
            "--dino", m.dino, "--clip", m.clip, "--json"], stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(same.status == 0, "\(same.stderr)")
        let scores = try #require(try JSONSerialization.jsonObject(with: same.stdout) as? [String: Any])
        #expect(scores["structure_distance"] as? Double == 0 && scores["ssim"] as? Double == 1 && scores["psnr"] == nil)
        #expect(scores["directional_clip_similarity"] == nil, "no direction between an image and itself")
        #expect(scores["clip_similarity"] is Double)

        let translated = try CLIRunner.run(["style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        let scored = try CLIRunner.run(["score", "--source", CLIRunner.sample("chelsea.png"), "--style-image", CLIRunner.sample("rocket.jpg"),
            "--dino", m.dino], stdin: translated.stdout)
        let table = String(decoding: scored.stdout, as: UTF8.self)
        #expect(scored.status == 0 && table.contains("structure distance") && table.contains("style distance") && table.contains("PSNR"), "\(table)")
        #expect(!table.contains("SSIM to the source: 1.0000"))
        let missing = try CLIRunner.run(["score", "--source", CLIRunner.sample("chelsea.png"), "--models-dir", try Self.scratch().path],
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(missing.status == 78 && missing.stderr.contains("dino_vitbase8_pretrain.pth"))
    }

    @Test func modelsDirectoryBeforeTheCommandAndADryRunWithNothingInstalled() throws {
        let empty = try Self.scratch().path
        let path = try CLIRunner.run(["--models-dir", empty, "models", "path"])
        #expect(path.status == 0 && String(decoding: path.stdout, as: UTF8.self) == empty + "\n")
        let style = try CLIRunner.run(["--models-dir", empty, "style", "--style-image", "x.png"], stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(style.status == 78 && style.stderr.contains("looked in \(empty)"), "\(style.stderr)")
        let plan = try CLIRunner.run(["--models-dir", empty, "style", "--faces", "--prompt", "a", "--source-prompt", "b", "--dry-run", "--size", "640x480"])
        let text = String(decoding: plan.stdout, as: UTF8.self)
        #expect(plan.status == 0, "\(plan.stderr)")
        for needle in ["not installed", "ffhq_10m.pt", "model_ir_se50.pth", "ViT-B-32.pt", "estimated time", "grid: 3 x 2"] {
            #expect(text.contains(needle), "plan lacks '\(needle)': \(text)")
        }
    }
}
