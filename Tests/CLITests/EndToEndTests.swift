import Foundation
import Testing

/// End-to-end tests: spawn the built `stylefilter` with pipes, as a shell would.
@Suite("stylefilter end to end")
struct EndToEndTests {
    private func run(_ arguments: [String], stdinSample: String) throws -> CLIRunner.Result {
        try CLIRunner.run(arguments, stdin: try CLIRunner.sampleData(stdinSample))
    }

    /// Successful runs print nothing on stderr and a decodable image on stdout.
    private func image(_ arguments: [String], stdinSample: String) throws -> [String: String] {
        let result = try run(arguments, stdinSample: stdinSample)
        #expect(result.status == 0 && !result.signalled, "\(arguments): \(result.stderr)")
        #expect(result.stderr.isEmpty, "\(arguments): \(result.stderr)")
        return try header(of: result.stdout)
    }

    static let geometryCases: [([String], String, String, String)] = [
        (["resize", "--scale", "0.25"], "rocket.jpg", "160", "107"),
        (["resize", "--width", "100"], "rocket.jpg", "100", "67"),
        (["resize", "--height", "50", "--kernel", "nearest"], "chelsea.png", "75", "50"),
        (["thumbnail", "128x128"], "rocket.jpg", "128", "85"),
        (["thumbnail", "128x128", "--crop", "attention"], "rocket.jpg", "128", "128"),
        (["thumbnail", "x60"], "chelsea.png", "90", "60"),
        (["crop", "100x80+10+20"], "chelsea.png", "100", "80"),
        (["crop", "100x80", "--gravity", "south-west"], "chelsea.png", "100", "80"),
        (["smartcrop", "90x90"], "chelsea.png", "90", "90"),
        (["pad", "500x320", "--background", "255,255,255"], "chelsea.png", "500", "320"),
        (["flatten"], "rgba16.png", "160", "106"),
        (["colourspace", "b-w"], "chelsea.png", "451", "300"),
        (["colorspace", "--profile", "p3"], "rocket.jpg", "640", "427"),
        (["depth", "16"], "grey.png", "160", "106"),
        (["copy"], "orientation6.jpg", "160", "107"),
        (["thumbnail", "512x512", "+", "crop", "256x256+0+0"], "rocket.jpg", "256", "256"),
        (["resize", "--width", "300", "+", "pad", "320x320", "+", "crop", "100x100", "--gravity", "centre"], "chelsea.png", "100", "100"),
    ]

    @Test(arguments: geometryCases.indices)
    func stageGeometry(index: Int) throws {
        let (arguments, sample, width, height) = Self.geometryCases[index]
        let fields = try image(arguments, stdinSample: sample)
        #expect(fields["width"] == width && fields["height"] == height, "\(arguments): \(fields["width"] ?? "?")x\(fields["height"] ?? "?")")
    }

    @Test(arguments: [("jpg[Q=90]", "jpegload_source"), ("webp[Q=85]", "webpload_source"), ("ppm", "ppmload_source"), ("tif", "tiffload_source"), ("gif", "gifload_source"), ("png", "pngload_source")])
    func formatRoundTrips(format: String, loader: String) throws {
        let fields = try image(["-f", format, "copy"], stdinSample: "chelsea.png")
        #expect(fields["vips-loader"] == loader)
        #expect(fields["width"] == "451" && fields["height"] == "300")
        // And back in through a pipe.
        let again = try CLIRunner.run(["copy"], stdin: try CLIRunner.run(["-f", format, "copy"], stdin: try CLIRunner.sampleData("chelsea.png")).stdout)
        #expect(again.status == 0 && again.stderr.isEmpty)
    }

    /// Same input, same bytes, in every output format (libvips' netpbm savers write the time in a comment
    /// unless stripped).
    @Test(arguments: ["jpg", "webp", "ppm", "pfm", "tif", "gif", "png"])
    func sameInputSameBytes(format: String) throws {
        let input = try CLIRunner.sampleData("chelsea.png")
        let first = try CLIRunner.run(["-f", format, "copy"], stdin: input)
        Thread.sleep(forTimeInterval: 1.1)  // a timestamp would move on
        let second = try CLIRunner.run(["-f", format, "copy"], stdin: input)
        #expect(first.status == 0 && !first.stdout.isEmpty, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
    }

    @Test func metadataIsKeptUnlessStripped() throws {
        let kept = try image(["copy"], stdinSample: "chelsea.png")
        #expect(kept["icc-profile-data"] != nil && kept["xmp-data"] != nil)
        let stripped = try image(["--strip", "copy"], stdinSample: "chelsea.png")
        #expect(stripped["icc-profile-data"] == nil && stripped["xmp-data"] == nil)
        // EXIF survives; the orientation has been applied and reset to 1.
        let rotated = try image(["-f", "jpg", "copy"], stdinSample: "orientation6.jpg")
        #expect(rotated["exif-data"] != nil && rotated["orientation"] == "1")
        #expect(rotated["width"] == "160" && rotated["height"] == "107")
    }

    @Test func alphaAndSixteenBitsAreKept() throws {
        let cropped = try image(["crop", "50x50+0+0"], stdinSample: "rgba16.png")
        #expect(cropped["bands"] == "4" && cropped["format"] == "ushort" && cropped["interpretation"] == "rgb16")
        let resized = try image(["resize", "--scale", "0.5"], stdinSample: "rgba16.png")
        #expect(resized["bands"] == "4" && resized["format"] == "ushort")
        let eight = try image(["depth", "8"], stdinSample: "rgba16.png")
        #expect(eight["bands"] == "4" && eight["format"] == "uchar")
    }

    @Test func filesInAndOutAtomically() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.webp").path
        let result = try CLIRunner.run(["-i", CLIRunner.sample("rocket.jpg"), "-o", output + "[Q=70]", "thumbnail", "64x64"])
        #expect(result.status == 0 && result.stderr.isEmpty && result.stdout.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.webp"])
        let fields = try header(of: try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(fields["vips-loader"] == "webpload_source" && fields["width"] == "64")
    }

    /// Bad inputs: the documented status, one line on stderr, nothing on stdout, no file left behind.
    @Test(arguments: BadInput.all)
    func badInput(_ bad: BadInput) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let arguments = bad.arguments.map { $0.replacingOccurrences(of: "$DIR", with: directory.path) }
        let result = try CLIRunner.run(arguments, stdin: bad.stdin)
        #expect(result.status == bad.status && !result.signalled, "\(bad.name): status \(result.status), stderr \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(bad.name): \(result.stdout.count) bytes on stdout")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == 1 && lines[0].hasPrefix("stylefilter: "), "\(bad.name): \(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty, "\(bad.name) left a file")
    }

    @Test func untrustedLoadersNeedPermission() throws {
        let svg = Data(#"<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20"><rect width="30" height="20" fill="red"/></svg>"#.utf8)
        let blocked = try CLIRunner.run(["copy"], stdin: svg)
        #expect(blocked.status == 65 && blocked.stderr.contains("--allow-untrusted") && blocked.stdout.isEmpty)
        let allowed = try CLIRunner.run(["--allow-untrusted", "copy"], stdin: svg)
        #expect(allowed.status == 0 && allowed.stderr.isEmpty)
        #expect(try header(of: allowed.stdout)["width"] == "30")
    }

    @Test func pipesThroughTheVipsCLIOnBothSides() throws {
        let vips = try #require(CLIRunner.which("vips"), "vips CLI (libvips-tools) is not installed")
        let script = """
            set -o pipefail
            '\(vips)' copy '\(CLIRunner.sample("rocket.jpg"))' .png \
              | '\(CLIRunner.binary.path)' thumbnail 200x200 + crop 100x100+0+0 \
              | '\(vips)' invert stdin .ppm
            """
        let result = try CLIRunner.runProcess("/bin/bash", ["-c", script])
        #expect(result.status == 0, "\(result.stderr)")
        let fields = try header(of: result.stdout)
        #expect(fields["width"] == "100" && fields["height"] == "100" && fields["vips-loader"] == "ppmload_source")
    }

    @Test func closedDownstreamPipeEndsQuietly() throws {
        // The output (a 4x enlargement, several MB of PNG) is far larger than a pipe buffer.
        let script = """
            '\(CLIRunner.binary.path)' -i '\(CLIRunner.sample("rocket.jpg"))' resize --scale 4 | head -c 100 > /dev/null
            echo "status=${PIPESTATUS[0]}"
            """
        let result = try CLIRunner.runProcess("/bin/bash", ["-c", script])
        #expect(String(decoding: result.stdout, as: UTF8.self).contains("status=141"))
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test func noLibvipsLeaks() throws {
        for (arguments, sample) in [(["thumbnail", "100x100", "+", "smartcrop", "50x50", "+", "pad", "60x60"], "rocket.jpg"), (["copy"], "truncated.png"), (["flatten"], "rgba16.png")] {
            let result = try CLIRunner.run(arguments, stdin: try CLIRunner.sampleData(sample), environment: ["VIPS_LEAK": "1"])
            #expect(!result.stderr.contains("objects alive"), "\(arguments): \(result.stderr)")
            // The leak checker did run: it always reports the memory high-water mark.
            #expect(result.stderr.contains("high-water"), "\(arguments): \(result.stderr)")
        }
    }

    @Test func refusesBinaryOutputToATerminal() throws {
        let script = try #require(CLIRunner.which("script"), "util-linux script is needed for a pseudo-terminal")
        let binary = CLIRunner.binary.path
        let sample = CLIRunner.sample("grey.png")
        let refused = try CLIRunner.runProcess(script, ["-qec", "'\(binary)' copy < '\(sample)'", "/dev/null"])
        #expect(refused.status == 64)
        #expect(String(decoding: refused.stdout, as: UTF8.self).contains("refusing to write binary image data to a terminal"))
        let noInput = try CLIRunner.runProcess(script, ["-qec", "'\(binary)' -o /dev/null -f png copy", "/dev/null"])
        #expect(noInput.status == 64)
        #expect(String(decoding: noInput.stdout, as: UTF8.self).contains("standard input is a terminal"))
        let forced = try CLIRunner.runProcess(script, ["-qec", "'\(binary)' --force copy < '\(sample)'", "/dev/null"])
        #expect(forced.status == 0)
    }

    @Test func threadsDriveLibvipsAndOpenBLAS() throws {
        let result = try run(["-t", "3", "-v", "copy"], stdinSample: "grey.png")
        #expect(result.status == 0)
        #expect(result.stderr.contains("threads: libvips 3, OpenBLAS 3"), "\(result.stderr)")
        let fromEnvironment = try CLIRunner.run(["-v", "copy"], stdin: try CLIRunner.sampleData("grey.png"), environment: ["STYLEFILTER_THREADS": "2"])
        #expect(fromEnvironment.stderr.contains("threads: libvips 2, OpenBLAS 2"), "\(fromEnvironment.stderr)")
    }

    @Test func helpShowsExamples() throws {
        let root = try CLIRunner.run(["--help"])
        let text = String(decoding: root.stdout, as: UTF8.self)
        #expect(root.status == 0 && text.contains("Examples:") && text.contains("thumbnail 512x512 + crop 256x256+0+0"))
        for stage in ["resize", "thumbnail", "crop", "smartcrop", "pad", "flatten", "colourspace", "depth", "copy", "info", "formats"] {
            let help = try CLIRunner.run([stage, "--help"])
            let stageText = String(decoding: help.stdout, as: UTF8.self)
            #expect(help.status == 0 && stageText.contains("stylefilter \(stage)") && stageText.contains("Examples:"), "\(stage)")
        }
        let version = try CLIRunner.run(["--version"])
        #expect(version.status == 0 && !version.stdout.isEmpty)
    }

    @Test func helpSubcommandShowsTheNamedCommandsHelp() throws {
        let models = try CLIRunner.run(["help", "models"])
        let text = String(decoding: models.stdout, as: UTF8.self)
        #expect(models.status == 0 && text.contains("stylefilter models") && models.stderr.isEmpty, "\(models.stderr)")
        let fetch = try CLIRunner.run(["help", "models", "fetch"])
        #expect(fetch.status == 0 && String(decoding: fetch.stdout, as: UTF8.self).contains("stylefilter models fetch"))
    }

    @Test func infoAndFormats() throws {
        let info = try run(["info", "--json"], stdinSample: "orientation6.jpg")
        #expect(info.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
        #expect(object["width"] as? Int == 107 && object["orientation"] as? Int == 6 && object["hasEXIF"] as? Bool == true)
        let text = try CLIRunner.run(["info", CLIRunner.sample("rgba16.png")])
        #expect(String(decoding: text.stdout, as: UTF8.self).contains("format: ushort"))
        let formats = try CLIRunner.run(["formats"])
        let listing = String(decoding: formats.stdout, as: UTF8.self)
        #expect(formats.status == 0 && listing.contains("jpegload_source") && listing.contains("pngsave_target"))
        let bad = try CLIRunner.run(["info"], stdin: Data("nope".utf8))
        #expect(bad.status == 65 && bad.stdout.isEmpty)
    }
}

/// One malformed invocation and the exit status it must produce.
struct BadInput: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String]
    var stdin: Data?
    var status: Int32

    var testDescription: String { name }

    static let all: [BadInput] = {
        let sample = { (name: String) in (try? CLIRunner.sampleData(name)) ?? Data() }
        // Deterministic "random" bytes (a linear congruential sequence), not an image in any format.
        var state: UInt32 = 12345
        let noise = Data((0..<4096).map { _ -> UInt8 in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        })
        let hugePPM = Data("P6\n100000 100000\n255\n".utf8) + Data(repeating: 128, count: 3000)
        return [
            BadInput(name: "empty stdin", arguments: ["copy"], stdin: Data(), status: 65),
            BadInput(name: "random bytes", arguments: ["copy"], stdin: noise, status: 65),
            BadInput(name: "truncated JPEG", arguments: ["copy"], stdin: sample("truncated.jpg"), status: 65),
            BadInput(name: "truncated PNG", arguments: ["copy"], stdin: sample("truncated.png"), status: 65),
            BadInput(name: "truncated JPEG to a file", arguments: ["-o", "$DIR/out.png", "thumbnail", "50x50"], stdin: sample("truncated.jpg"), status: 65),
            BadInput(name: "100000x100000 PNG header", arguments: ["copy"], stdin: hugePNG(), status: 65),
            BadInput(name: "100000x100000 PPM header", arguments: ["copy"], stdin: hugePPM, status: 65),
            BadInput(name: "100000x100000 PPM header, whole-image stage", arguments: ["smartcrop", "10x10"], stdin: hugePPM, status: 65),
            BadInput(name: "unknown option", arguments: ["resize", "--bogus", "3"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "unknown global option", arguments: ["--bogus", "copy"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "unknown stage", arguments: ["blur"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "missing stage", arguments: ["-f", "png"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "empty stage after +", arguments: ["copy", "+"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "bad geometry", arguments: ["crop", "10x"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "crop outside the image", arguments: ["crop", "500x500+0+0"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "unknown output format", arguments: ["-f", "xyz", "copy"], stdin: sample("grey.png"), status: 64),
            BadInput(name: "missing -i file", arguments: ["-i", "$DIR/missing.jpg", "copy"], stdin: nil, status: 66),
            BadInput(name: "unwritable -o", arguments: ["-o", "$DIR/no/such/dir/out.png", "copy"], stdin: sample("grey.png"), status: 73),
            BadInput(name: "full device", arguments: ["-o", "/dev/full", "-f", "png", "copy"], stdin: sample("grey.png"), status: 74),
        ]
    }()

    /// A valid PNG signature and IHDR declaring 100000x100000 RGB, then a tiny IDAT and IEND.
    static func hugePNG() -> Data {
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + body
            return bigEndian(UInt32(body.count)) + typed + bigEndian(crc32(typed))
        }
        let ihdr = bigEndian(100_000) + bigEndian(100_000) + [8, 2, 0, 0, 0]
        let idat: [UInt8] = [0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]
        return Data([137, 80, 78, 71, 13, 10, 26, 10] + chunk("IHDR", ihdr) + chunk("IDAT", idat) + chunk("IEND", []))
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xedb8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
