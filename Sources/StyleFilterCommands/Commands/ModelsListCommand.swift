import ArgumentParser
import Foundation
import StyleFilter

struct ModelsListCommand: ModelsSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the known models, what each mode needs, and what is installed where.",
        discussion: """
            Status is judged without re-hashing: 'ok' means unchanged since its last full verification; \
            'unverified' (copied in by hand) and 'modified' files are checked by 'stylefilter models verify'.

            Examples:
              stylefilter models list
              stylefilter models list --json \\
                  | jq '.models[] | select(.status != "ok") | .name'
            """)

    @OptionGroup var directory: ModelsDirectoryOptions

    @Flag(help: "Print JSON.")
    var json = false

    struct Listing: Codable {
        var directory: String
        var directorySource: String
        var models: [Model]
        var modes: [Mode]
    }

    struct Model: Codable {
        var name: String
        var role: String
        var file: String
        var path: String
        var modes: [String]
        var approximateBytes: Int64
        var bytes: Int64?
        var status: String
        var sha256: String?
        var publishedSHA256: Bool
        var urls: [String]
        var manualSource: String?
    }

    struct Mode: Codable {
        var mode: String
        /// Every file the mode needs is installed and its tensors are the expected network.
        var ready: Bool
        var missing: [String]
        /// Installed, but the tensors are not the network the mode needs.
        var unrecognised: [String]
        var missingApproximateBytes: Int64
    }

    func execute(_ context: ModelsContext) throws {
        let store = try context.store(directory)
        let statuses = try store.statuses()
        let models = statuses.map { status in
            Model(
                name: status.entry.name, role: status.entry.role, file: status.entry.fileName, path: status.path,
                modes: ModelMode.allCases.filter { status.entry.modes.contains($0) }.map(\.rawValue),
                approximateBytes: status.entry.approximateBytes, bytes: status.size, status: Self.describe(status.state),
                sha256: status.record?.sha256, publishedSHA256: status.entry.publishedSHA256 != nil,
                urls: status.entry.urls, manualSource: status.entry.manualSource)
        }
        let modes = ModelMode.allCases.map { mode in
            let needed = statuses.filter { $0.entry.modes.contains(mode) }
            let missing = needed.filter { !$0.isInstalled }
            let unrecognised = needed.filter { $0.isInstalled && !store.isRecognised($0) }
            return Mode(
                mode: mode.rawValue, ready: missing.isEmpty && unrecognised.isEmpty, missing: missing.map(\.entry.name),
                unrecognised: unrecognised.map(\.entry.name),
                missingApproximateBytes: missing.reduce(0) { $0 + $1.entry.approximateBytes })
        }
        let listing = Listing(
            directory: store.directory.path, directorySource: store.directory.source.rawValue, models: models, modes: modes)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Console.writeOutput(String(decoding: try encoder.encode(listing), as: UTF8.self) + "\n")
            return
        }
        var text = "models directory: \(listing.directory) (from \(listing.directorySource))\n\n"
        let rows = [["NAME", "SIZE", "STATUS", "MODES", "FILE"]]
            + models.map { model in
                [
                    model.name, (model.bytes == nil ? "~" : "") + ByteCount.format(model.bytes ?? model.approximateBytes),
                    model.status, model.modes.isEmpty ? "optional" : model.modes.joined(separator: ","), model.file,
                ]
            }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            text += row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ") + "\n"
        }
        text += "\n"
        for mode in modes {
            let label = (mode.mode + ":").padding(toLength: 7, withPad: " ", startingAt: 0)
            if mode.ready {
                text += "\(label)ready\n"
            } else if mode.missing.isEmpty {
                text += "\(label)not usable: \(mode.unrecognised.joined(separator: ", ")) (the tensors are not the expected network; see 'stylefilter models inspect')\n"
            } else {
                text += "\(label)missing \(mode.missing.joined(separator: ", ")) (~\(ByteCount.format(mode.missingApproximateBytes))): stylefilter models fetch --mode \(mode.mode)\n"
            }
        }
        Console.writeOutput(text)
    }

    static func describe(_ state: ModelStore.FileState) -> String {
        switch state {
        case .missing: return "missing"
        case .partial(let bytes): return "partial (\(ByteCount.format(bytes)))"
        case .verified: return "ok"
        case .unverified: return "unverified"
        case .modified: return "modified"
        case .wrongSize: return "corrupt (size)"
        }
    }
}
