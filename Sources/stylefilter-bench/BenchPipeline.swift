import Foundation
import Glibc

/// `stylefilter-bench pipeline [--runs N]`: `thumbnail 512x512 + crop 256x256+0+0` on a generated
/// 4000x3000 JPEG, timed as a user runs it (the built `stylefilter` binary, one process) against libvips'
/// own tools doing the same work (`vipsthumbnail` to a .v file, then `vips crop` to PNG).
enum BenchPipeline {
    static func run(_ arguments: ArraySlice<String>) throws {
        var runs = 7
        if let index = arguments.firstIndex(of: "--runs"), index + 1 < arguments.endIndex, let value = Int(arguments[index + 1]) {
            runs = max(1, value)
        }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let stylefilter = products.appendingPathComponent("stylefilter").path
        guard FileManager.default.isExecutableFile(atPath: stylefilter) else {
            throw Failure("build stylefilter first: swift build -c release --product stylefilter")
        }
        let vips = try tool("vips")
        let vipsthumbnail = try tool("vipsthumbnail")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stylefilter-bench-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("photo-4000x3000.jpg").path
        try makeInput(at: input, vips: vips, directory: directory)
        Bench.log("input: \(input) (\(fileSize(input) / 1024) KiB), \(runs) runs each, median reported")

        let ours = directory.appendingPathComponent("stylefilter.png").path
        let theirs = directory.appendingPathComponent("vips.png").path
        let intermediate = directory.appendingPathComponent("thumb.v").path
        let styleFilterRun = { () throws -> Measurement in
            try measure([[stylefilter, "-i", input, "-o", ours, "thumbnail", "512x512", "+", "crop", "256x256+0+0"]])
        }
        let vipsRun = { () throws -> Measurement in
            try measure([
                [vipsthumbnail, input, "-s", "512x512", "-o", intermediate],
                [vips, "crop", intermediate, theirs, "0", "0", "256", "256"],
            ])
        }
        // Lower bound for libvips: its thumbnail step alone (no crop, no second process).
        let thumbnailOnlyRun = { () throws -> Measurement in
            try measure([[vipsthumbnail, input, "-s", "512x512", "-o", directory.appendingPathComponent("only.png").path]])
        }
        // Warm the page cache and the dynamic loader for both before timing; then alternate the two.
        _ = try styleFilterRun()
        _ = try vipsRun()
        var oursTimes: [Double] = []
        var theirsTimes: [Double] = []
        var thumbnailOnlyTimes: [Double] = []
        var oursRSS = 0
        var theirsRSS = 0
        for _ in 0..<runs {
            let a = try styleFilterRun()
            let b = try vipsRun()
            thumbnailOnlyTimes.append(try thumbnailOnlyRun().seconds)
            oursTimes.append(a.seconds)
            theirsTimes.append(b.seconds)
            oursRSS = max(oursRSS, a.peakRSSKiB)
            theirsRSS = max(theirsRSS, b.peakRSSKiB)
        }
        try check(ours, equalsSizeOf: theirs, vips: vips)
        let oursMedian = median(oursTimes)
        let theirsMedian = median(theirsTimes)
        Bench.report(
            "pipeline",
            [
                "stylefilter_s": String(format: "%.4f", oursMedian), "vips_s": String(format: "%.4f", theirsMedian),
                "ratio": String(format: "%.3f", oursMedian / theirsMedian),
                "vipsthumbnail_only_s": String(format: "%.4f", median(thumbnailOnlyTimes)),
                "stylefilter_peak_rss_mib": String(format: "%.1f", Double(oursRSS) / 1024),
                "vips_peak_rss_mib": String(format: "%.1f", Double(theirsRSS) / 1024), "runs": String(runs),
            ])
    }

    /// A 4000x3000 photo-like JPEG: a real photo enlarged, plus noise so it does not compress unrealistically well.
    private static func makeInput(at path: String, vips: String, directory: URL) throws {
        let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("samples/rocket.jpg").path
        let enlarged = directory.appendingPathComponent("enlarged.v").path
        let noise = directory.appendingPathComponent("noise.v").path
        let sum = directory.appendingPathComponent("sum.v").path
        for command in [
            [vips, "thumbnail", samples, enlarged, "4000", "--height", "3000", "--size", "force"],
            [vips, "gaussnoise", noise, "4000", "3000", "--mean", "0", "--sigma", "12"],
            [vips, "add", enlarged, noise, sum],
            [vips, "cast", sum, path + "[Q=90]", "uchar"],
        ] {
            _ = try measure([command])
        }
    }

    private static func check(_ ours: String, equalsSizeOf theirs: String, vips: String) throws {
        let header = { (path: String) throws -> String in
            let pipe = Pipe()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: vips + "header")
            process.arguments = [path]
            process.standardOutput = pipe
            try process.run()
            process.waitUntilExit()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return text.split(separator: ":").dropFirst().first.map { String($0.split(separator: ",")[0]) } ?? ""
        }
        let (a, b) = (try header(ours), try header(theirs))
        guard a == b, a.contains("256x256") else { throw Failure("outputs differ: stylefilter \(a), vips \(b)") }
    }

    struct Measurement {
        var seconds: Double
        var peakRSSKiB: Int
    }

    /// Runs commands one after another; returns the wall time of all and the largest child peak RSS.
    private static func measure(_ commands: [[String]]) throws -> Measurement {
        let start = DispatchTime.now().uptimeNanoseconds
        var peak = 0
        for command in commands {
            peak = max(peak, try spawnAndWait(command))
        }
        return Measurement(seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, peakRSSKiB: peak)
    }

    /// posix_spawn + wait4, to get the child's own peak RSS (ru_maxrss, KiB).
    private static func spawnAndWait(_ command: [String]) throws -> Int {
        var pid: pid_t = 0
        var cArguments = command.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let spawned = posix_spawn(&pid, command[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw Failure("cannot run \(command[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw Failure("wait4 failed") }
        }
        guard status == 0 else { throw Failure("\(command.joined(separator: " ")) failed (status \(status))") }
        return usage.ru_maxrss
    }

    private static func tool(_ name: String) throws -> String {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw Failure("\(name) not found; install libvips-tools")
    }

    private static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }

    private static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
