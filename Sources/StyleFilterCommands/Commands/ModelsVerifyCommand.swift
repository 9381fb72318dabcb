import ArgumentParser
import Foundation
import StyleFilter

struct ModelsVerifyCommand: ModelsSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash installed models and check them against the published or pinned SHA-256 (exit 78 on mismatch).",
        discussion: """
            Without names, every model file present in the models directory is checked. A file with no \
            published hash that was never pinned (copied in by hand) is pinned now if its tensors show the \
            expected architecture.

            Examples:
              stylefilter models verify
              stylefilter models verify clip-vitb32 dino-vitb8
            """)

    @OptionGroup var directory: ModelsDirectoryOptions

    @Argument(help: ArgumentHelp("Model names (default: every installed model).", valueName: "name"))
    var names: [String] = []

    func execute(_ context: ModelsContext) throws {
        let store = try context.store(directory)
        let entries = try names.isEmpty
            ? store.catalog.filter { FileManager.default.fileExists(atPath: store.directory.filePath($0)) }
            : names.map { try store.entry(named: $0) }
        if entries.isEmpty {
            context.note("no models installed in \(store.directory.path)")
            return
        }
        var failed = 0
        let style = context.progressStyle()
        for entry in entries {
            let view = TransferProgressView(label: "hashing \(entry.name)", style: style)
            let total = (try? FileManager.default.attributesOfItem(atPath: store.directory.filePath(entry))[.size] as? Int).map(Int64.init)
            let start = ContinuousClock.now
            let result = try store.verify(entry) { bytes in
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                view.update(bytes: bytes, total: total, rate: seconds > 0 ? Double(bytes) / seconds : 0, finished: bytes == total)
            }
            switch result {
            case .ok(let sha, let pinnedNow):
                Console.writeOutput("ok        \(entry.name)  \(entry.fileName)  sha256:\(sha)\(pinnedNow ? "  (pinned now)" : "")\n")
            case .missing:
                failed += 1
                Console.writeOutput("missing   \(entry.name)  \(entry.fileName)\n")
                Console.error("\(entry.name) is not installed; run 'stylefilter models fetch \(entry.name)'")
            case .mismatch(let expected, let actual, let published):
                failed += 1
                Console.writeOutput("MISMATCH  \(entry.name)  \(entry.fileName)  sha256:\(actual)\n")
                Console.error(
                    "\(store.directory.filePath(entry)): SHA-256 is \(actual), expected \(expected) (\(published ? "published" : "pinned")); the file is corrupt or was changed: run 'stylefilter models fetch --force \(entry.name)'")
            case .wrongArchitecture(let found):
                failed += 1
                Console.writeOutput("WRONG     \(entry.name)  \(entry.fileName)\n")
                Console.error("\(store.directory.filePath(entry)) is not \(entry.architecture) (\(found)); run 'stylefilter models fetch --force \(entry.name)'")
            }
        }
        if failed > 0 { throw StyleFilterError(.modelNotUsable, "") }
    }
}
