import Engine
import Foundation
import Testing

/// `style --precision`: bf16 runs where the CPU has AVX512-BF16 (logged, reproducible, recorded and
/// replayed), is refused with status 64 and nothing on stdout where it has not; unknown names are usage errors.
@Suite(.serialized) struct PrecisionCommandTests {
    static let quick = StyleCommandTests.quick

    @Test func anUnknownPrecisionIsAUsageError() throws {
        let m = try StyleCommandTests.makeModels()
        let result = try CLIRunner.run(["style", "--style-image", CLIRunner.sample("rocket.jpg"), "--precision", "fp8"] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 64 && result.stdout.isEmpty, "\(result.status) \(result.stderr)")
        #expect(result.stderr.contains("unknown --precision 'fp8' (known: fp32, bf16)"), "\(result.stderr)")
    }

    @Test func bf16RunsWhereTheCPUHasItAndIsRefusedElsewhere() throws {
        let m = try StyleCommandTests.makeModels()
        let dir = try CLIRunner.scratch("stylefilter-precision")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("bf16.png").path
        let args = ["--seed", "5", "-v", "-o", out, "style", "--style-image", CLIRunner.sample("rocket.jpg"), "--precision", "bf16"]
            + m.modelArguments + Self.quick
        let bf16 = try CLIRunner.run(args, stdin: try CLIRunner.sampleData("chelsea.png"))
        guard MatmulPrecision.bf16.isSupported else {
            #expect(bf16.status == 64 && bf16.stdout.isEmpty, "\(bf16.status) \(bf16.stderr)")
            #expect(bf16.stderr.contains("needs a CPU with AVX512-BF16") && bf16.stderr.split(separator: "\n").count == 1, "\(bf16.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
            return
        }
        #expect(bf16.status == 0, "\(bf16.stderr)")
        #expect(bf16.stderr.contains("style: matrix products in bf16"), "\(bf16.stderr)")
        // The dry run's estimates use the bf16 step times: whole mode's and the tiled modes'.
        func estimate(_ extra: [String], line marker: String = "estimated time") throws -> (minutes: Double, line: String) {
            let plan = try CLIRunner.run(["style", "--style-image", CLIRunner.sample("rocket.jpg"), "--dry-run"] + extra + m.modelArguments,
                stdin: try CLIRunner.sampleData("chelsea.png"))
            let line = try #require(String(decoding: plan.stdout, as: UTF8.self).split(separator: "\n").first { $0.contains(marker) })
            let words = line.split(separator: " ").drop { $0 != "about" }.dropFirst()
            let value = try #require(Double(words.first ?? ""), "\(line)")
            return (words.dropFirst().first?.hasPrefix("h") == true ? 60 * value : value, String(line))
        }
        let (fp32Minutes, _) = try estimate([])
        let (bf16Minutes, bf16Line) = try estimate(["--precision", "bf16"])
        #expect(bf16Line.contains("s per step in bf16") && bf16Minutes < fp32Minutes, "\(bf16Line) against \(fp32Minutes) min")
        let (fp32Tiled, fp32TiledLine) = try estimate(["--size", "1000x1000"], line: "tiled:")
        let (bf16Tiled, bf16TiledLine) = try estimate(["--size", "1000x1000", "--precision", "bf16"], line: "tiled:")
        #expect(bf16Tiled < 0.8 * fp32Tiled, "\(bf16TiledLine) against \(fp32TiledLine)")
        // Same seed, same bytes, in bf16 too; and the record says bf16.
        let again = dir.appendingPathComponent("again.png").path
        let repeated = try CLIRunner.run(["--seed", "5", "-o", again] + args.dropFirst(5), stdin: try CLIRunner.sampleData("chelsea.png"))
        func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }
        #expect(repeated.status == 0, "\(repeated.stderr)")
        #expect(try bytes(again) == bytes(out))
        let info = try CLIRunner.run(["info", out, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
        #expect((object["provenance"] as? [String: Any])?["precision"] as? String == "bf16", "\(object)")

        // The float32 run differs (the products were rounded) and records no precision.
        let fp32Out = dir.appendingPathComponent("fp32.png").path
        let fp32 = try CLIRunner.run(["--seed", "5", "-o", fp32Out, "style", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments + Self.quick,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(fp32.status == 0 && !fp32.stderr.contains("matrix products"))
        #expect(try bytes(fp32Out) != bytes(out))
        let fp32Info = try JSONSerialization.jsonObject(with: try CLIRunner.run(["info", fp32Out, "--json"]).stdout) as? [String: Any]
        #expect((fp32Info?["provenance"] as? [String: Any])?["precision"] == nil)

        // A replay runs in the recorded precision and gives the same bytes; a precision given with it is refused.
        let replayOut = dir.appendingPathComponent("replay.png").path
        let replay = try CLIRunner.run(["-o", replayOut, "style", "--replay", out, "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(try bytes(replayOut) == bytes(out), "bf16 replay differs")
        let changed = try CLIRunner.run(["style", "--replay", out, "--precision", "fp32", "--style-image", CLIRunner.sample("rocket.jpg")] + m.modelArguments,
            stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(changed.status == 64 && changed.stderr.contains("--replay takes its settings"), "\(changed.stderr)")
    }
}
