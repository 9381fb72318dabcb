import Foundation
import Testing

/// `stylefilter style --mode tiled|detail` end to end with the small random-weight networks (their
/// U-Net is 32x32, so modest images already make many tiles). Plumbing, not quality.
@Suite(.serialized) struct TiledStyleCommandTests {
    static let quick = StyleCommandTests.quick

    @Test func tiledModeKeepsSizeAndAlphaOfA16BitImage() throws {
        let m = try StyleCommandTests.makeModels()
        let result = try CLIRunner.run(["style", "--mode", "tiled", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("rgba16.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let h = try header(of: result.stdout)
        #expect(h["width"] == "160" && h["height"] == "106" && h["bands"] == "4", "\(h)")
    }

    @Test func detailModeTextGuidedChainedAfterResize() throws {
        let m = try StyleCommandTests.makeModels()
        let result = try CLIRunner.run(
            ["resize", "--width", "90", "+", "style", "--mode", "detail", "--detail-steps", "2", "--prompt", "black leopard", "--source-prompt", "lion",
             "--clip", m.clip] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let h = try header(of: result.stdout)
        #expect(h["width"] == "90" && h["height"] == "60", "\(h)")
    }

    @Test func tiledModeIsDeterministicBySeed() throws {
        let m = try StyleCommandTests.makeModels()
        let args = ["resize", "--width", "70", "+", "style", "--mode", "tiled", "--overlap", "12", "--style-image", CLIRunner.sample("rocket.jpg")]
            + m.modelArguments + Self.quick
        let input = try CLIRunner.sampleData("chelsea.png")
        let a = try CLIRunner.run(["--seed", "3"] + args, stdin: input)
        let b = try CLIRunner.run(["--seed", "3"] + args, stdin: input)
        let c = try CLIRunner.run(["--seed", "4"] + args, stdin: input)
        #expect(a.status == 0 && c.status == 0, "\(a.stderr) \(c.stderr)")
        #expect(a.stdout == b.stdout, "same seed, different bytes")
        #expect(a.stdout != c.stdout, "different seeds, same bytes")
    }

    @Test func dryRunReportsTilesPassesAndTimePerMode() throws {
        let m = try StyleCommandTests.makeModels()
        let result = try CLIRunner.run(["style", "--style-image", "x.png", "--dry-run", "--size", "2000x1500", "--overlap", "8"] + m.modelArguments)
        #expect(result.status == 0, "\(result.stderr)")
        let text = String(decoding: result.stdout, as: UTF8.self)
        // 32-pixel tiles with overlap 8: 83 columns (2000) by 63 rows (1500).
        for needle in ["grid: 83 x 63 = 5229 tiles", "whole: resize", "tiled: 5229 tiles fused", "detail: whole + 4 refinement steps", "U-Net"] {
            #expect(text.contains(needle), "plan lacks '\(needle)': \(text)")
        }
    }

    /// Without --size the plan is for the image's size at the style stage, read from headers after
    /// the stages before it; no image is written.
    @Test func dryRunReadsTheSizeFromTheImageAtItsStage() throws {
        let m = try StyleCommandTests.makeModels()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dry-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.png").path
        let result = try CLIRunner.run(
            ["-o", out, "resize", "--width", "200", "+", "style", "--mode", "tiled", "--style-image", "x.png", "--dry-run", "--overlap", "8"]
                + m.modelArguments,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 0, "\(result.stderr)")
        let text = String(decoding: result.stdout, as: UTF8.self)
        // chelsea.png is 451x300: 200x133 after the resize; 32-pixel tiles with overlap 8 make 8 x 6.
        #expect(text.contains("200x133") && text.contains("grid: 8 x 6 = 48 tiles"), "\(text)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "a dry run writes no image")
        let broken = try CLIRunner.run(["style", "--style-image", "x.png", "--dry-run"] + m.modelArguments, stdin: Data("not an image".utf8))
        #expect(broken.status == 65 && broken.stdout.isEmpty, "\(broken.stderr)")
    }

    @Test func badModeOverlapAndDetailSettingsAreUsageErrors() throws {
        let m = try StyleCommandTests.makeModels()
        let input = try CLIRunner.sampleData("chelsea.png")
        let mode = try CLIRunner.run(["style", "--mode", "mosaic", "--style-image", "x.png"] + m.modelArguments, stdin: input)
        #expect(mode.status == 64 && mode.stderr.contains("mosaic"), "\(mode.stderr)")
        let overlap = try CLIRunner.run(["style", "--mode", "tiled", "--overlap", "32", "--style-image", "x.png"] + m.modelArguments, stdin: input)
        #expect(overlap.status == 64 && overlap.stderr.contains("overlap"), "\(overlap.stderr)")
        let detail = try CLIRunner.run(["style", "--mode", "detail", "--detail-steps", "0", "--style-image", "x.png"] + m.modelArguments, stdin: input)
        #expect(detail.status == 64 && detail.stderr.contains("detail-steps"), "\(detail.stderr)")
    }
}
