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
        writeError("stylefilter: \(oneLine(message))\n")
    }

    /// `message` as one printable line: line breaks of any kind become spaces (each line trimmed, empty
    /// ones dropped) and other control characters a visible `\xHH`. Messages quote names from files
    /// (tensor names, pickle globals, libvips' text), and a hostile file must not add lines or send
    /// terminal escape sequences.
    static func oneLine(_ message: String) -> String {
        var text = String.UnicodeScalarView()
        for scalar in message.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .lineSeparator, .paragraphSeparator:
                text.append("\n")
            case .control where ["\n", "\r", "\u{0B}", "\u{0C}", "\u{85}"].contains(scalar):
                text.append("\n")
            case .control where scalar == "\t":
                text.append(" ")
            case .control:
                text.append(contentsOf: String(format: "\\x%02X", scalar.value).unicodeScalars)
            default:
                text.append(scalar)
            }
        }
        // Split on scalars, not Characters: "\r\n" is one Character and would never equal "\n".
        return text.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    static func writeError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func writeOutput(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
