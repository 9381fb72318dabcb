import Foundation

/// Runs the built `stylefilter` binary for the `models` end-to-end tests, with a clean environment: no
/// inherited STYLEFILTER_* or XDG variables, HOME set to the test's.
enum ModelsCLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], home: String, environment: [String: String] = [:]) throws -> Result {
        var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STYLEFILTER_") && !$0.key.hasPrefix("XDG_") }
        variables["HOME"] = home
        for (key, value) in environment { variables[key] = value }
        let result = try CLIRunner.runProcess(CLIRunner.binary.path, arguments, environment: variables, inherit: false)
        return Result(status: result.status, stdout: String(decoding: result.stdout, as: UTF8.self), stderr: result.stderr)
    }
}
