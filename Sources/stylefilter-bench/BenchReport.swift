import Foundation

/// Timing and memory helpers shared by every benchmark case.
enum Bench {
    /// Runs `body` `runs` times (after `warmup` untimed runs) and returns the median seconds.
    static func medianSeconds(runs: Int = 3, warmup: Int = 0, _ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
    }

    /// Peak resident set size of this process in MiB (VmHWM from /proc/self/status).
    static func peakRSSMiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? -1
            return kb / 1024
        }
        return -1
    }

    /// Prints a benchmark's final line: `CASE key=value ...`.
    static func report(_ name: String, _ fields: KeyValuePairs<String, String>) {
        let body = fields.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        print("\(name) \(body)")
    }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
