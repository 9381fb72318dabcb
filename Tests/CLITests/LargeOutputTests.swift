import Foundation
import Testing

/// Outputs larger than memory should hold: a file is encoded straight into its temporary sibling, standard
/// output through an unnamed temporary file; either way the process stays far below the image's size,
/// a failed write is the output's error (74), and nothing is left behind.
@Suite struct LargeOutputTests {
    /// chelsea.png (451x300) at --scale 30: 13530x9000, 365 MB of pixels (over the 256 MiB held in memory).
    static let enlarge = ["--max-pixels", "200000000", "-vv", "resize", "--scale", "30", "--kernel", "linear"]
    static let pixelBytes = 13530 * 9000 * 3

    static func peakResidentMiB(_ stderr: String) throws -> Int {
        let line = try #require(stderr.split(separator: "\n").first { $0.contains("peak resident memory") }, "\(stderr)")
        let after = try #require(line.range(of: "peak resident memory "))
        return try #require(Int(line[after.upperBound...].prefix(while: \.isNumber)))
    }

    static func scratch() throws -> URL { try CLIRunner.scratch("large-output") }

    @Test func aLargeOutputIsNeverHeldInMemory() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try CLIRunner.sampleData("chelsea.png")
        // To a file: encoded into its temporary sibling as the pixels are computed.
        let out = dir.appendingPathComponent("big.ppm")
        let toFile = try CLIRunner.run(["-o", out.path] + Self.enlarge, stdin: input)
        #expect(toFile.status == 0, "\(toFile.stderr)")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: out.path)[.size] as? Int)
        #expect(size > Self.pixelBytes && size < Self.pixelBytes + 100)  // a netpbm header (libvips adds a comment)
        let filePeak = try Self.peakResidentMiB(toFile.stderr)
        #expect(filePeak < 200, "the output was held in memory: peak \(filePeak) MiB")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["big.ppm"])
        // To standard output: through an unnamed temporary file, then copied out; the same bytes.
        let toStdout = try CLIRunner.run(["-f", "ppm"] + Self.enlarge, stdin: input)
        #expect(toStdout.status == 0, "\(toStdout.stderr)")
        let stdoutPeak = try Self.peakResidentMiB(toStdout.stderr)
        #expect(stdoutPeak < 200, "the output was held in memory: peak \(stdoutPeak) MiB")
        #expect(toStdout.stdout.count == size)
        let file = try FileHandle(forReadingFrom: out)
        defer { try? file.close() }
        var offset = 0
        while let chunk = try file.read(upToCount: 16 << 20), !chunk.isEmpty {
            #expect(toStdout.stdout[offset..<(offset + chunk.count)] == chunk, "bytes differ in \(offset)..<\(offset + chunk.count)")
            offset += chunk.count
        }
        print("\(size >> 20) MiB output: peak resident \(filePeak) MiB to a file, \(stdoutPeak) MiB to standard output")
    }

    /// A write that fails half way (here the file size limit; a full disk alike) names the file, exits 74
    /// and removes the partial file.
    @Test func aFailedWriteIsTheOutputsErrorAndLeavesNothing() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("big.png")
        let command = "trap '' XFSZ; ulimit -f 64; exec \"$0\" -o \"$1\" resize --scale 4"
        let result = try CLIRunner.runProcess("/bin/sh", ["-c", command, CLIRunner.binary.path, out.path], stdin: try CLIRunner.sampleData("chelsea.png"))
        #expect(result.status == 74 && !result.signalled, "status \(result.status): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("cannot write '\(out.path)': File too large"), "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    /// Global options are read before the first stage; after one they would be ignored, so they are refused.
    @Test func aGlobalOptionAfterAStageIsRefused() throws {
        for arguments in [["copy", "-o", "/tmp/never.png"], ["copy", "+", "resize", "--scale", "2", "--strip"], ["copy", "--max-pixels=5"]] {
            let result = try CLIRunner.run(arguments, stdin: try CLIRunner.sampleData("chelsea.png"))
            HostileInputTests.expectRefused(result, status: 64, "is a global option; give it before the first stage")
        }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never.png"))
    }
}
