import Foundation
import Glibc

/// The process's standard streams as the dispatcher sees them. Terminal checks are injectable so tests
/// can exercise the "refuse binary output to a terminal" rule without a pseudo-terminal.
struct Console: Sendable {
    var standardInputIsTerminal: Bool
    var standardOutputIsTerminal: Bool
    var standardErrorIsTerminal: Bool

    static var current: Console {
        Console(
            standardInputIsTerminal: isatty(0) == 1, standardOutputIsTerminal: isatty(1) == 1,
            standardErrorIsTerminal: isatty(2) == 1)
    }

    /// Writes one diagnostic line to stderr, prefixed with the program name.
    static func error(_ message: String) {
        let line = message.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        writeError("stylefilter: \(line)\n")
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func writeOutput(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
