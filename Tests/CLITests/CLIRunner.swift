import Foundation
import Glibc

/// Runs the built `stylefilter` binary the way a shell would.
struct CLIRunner {
    struct Result {
        var status: Int32
        /// True when the process was killed by a signal (`status` is then the signal number).
        var signalled: Bool
        var stdout: Data
        var stderr: String
    }

    /// The products directory: next to the test bundle (`.build/<config>/…xctest`).
    static let productsDirectory: URL = {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = executable.deletingLastPathComponent()
        // On some set-ups the runner sits inside the bundle (`…xctest/Contents/MacOS`); walk up to it.
        while !directory.path.hasSuffix(".xctest") && directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("stylefilter").path) { return directory }
            directory = directory.deletingLastPathComponent()
        }
        return directory.deletingLastPathComponent()
    }()

    static let binary = productsDirectory.appendingPathComponent("stylefilter")

    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")

    static func sample(_ name: String) -> String { samples.appendingPathComponent(name).path }

    /// A new empty directory under the temporary directory, named `<prefix>-<UUID>`.
    static func scratch(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func sampleData(_ name: String) throws -> Data { try Data(contentsOf: samples.appendingPathComponent(name)) }

    /// Runs `arguments` with `stdin` piped in (empty when nil) and collects everything.
    static func run(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> Result {
        try runProcess(binary.path, arguments, stdin: stdin, environment: environment)
    }

    /// Runs any executable (used for `vips` on either side of the filter) with `environment` added to
    /// this process's (or, with `inherit` false, as its whole environment).
    static func runProcess(
        _ path: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:], inherit: Bool = true
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = inherit ? ProcessInfo.processInfo.environment : [:]
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let input = Pipe()
        let output = Pipe()
        let error = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Feed stdin from another thread so a large input cannot deadlock against a full stdout pipe.
        let payload = stdin ?? Data()
        let writer = Thread {
            // The child may exit without reading everything (e.g. a usage error). Block SIGPIPE in this
            // thread only, so that write fails with EPIPE instead of killing the test process.
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
            let descriptor = input.fileHandleForWriting.fileDescriptor
            payload.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                    if written < 0 && errno == EINTR { continue }
                    if written <= 0 { break }
                    offset += written
                }
            }
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let errorReader = DataReader(error.fileHandleForReading)
        let stdoutData = output.fileHandleForReading.readDataToEndOfFile()
        let stderrData = errorReader.finish()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            stdout: stdoutData, stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// Path of a tool on PATH, or nil.
    static func which(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// Drains a pipe on a background thread.
final class DataReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread {
            self.data = handle.readDataToEndOfFile()
            self.done.signal()
        }.start()
    }

    func finish() -> Data {
        done.wait()
        return data
    }
}

/// Reads an image's header with `vipsheader` (libvips-tools): "WxH format, N bands, interpretation".
func header(of data: Data) throws -> [String: String] {
    let result = try CLIRunner.runProcess(CLIRunner.which("vipsheader")!, ["-a", "stdin"], stdin: data)
    var fields: [String: String] = [:]
    for line in String(decoding: result.stdout, as: UTF8.self).split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return fields
}
