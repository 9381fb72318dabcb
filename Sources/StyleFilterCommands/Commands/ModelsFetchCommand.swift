import ArgumentParser
import Foundation
import StyleFilter

struct ModelsFetchCommand: ModelsSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download models into the models directory, resuming partial downloads and verifying each file.",
        discussion: """
            Modes: 'image' (style image: ADM U-Net + DINO ViT-B/8, ~2.6 GB), 'text' (adds the five CLIP models \
            of DiffuseIT's ensemble, ~4.6 GB in all), 'faces' (FFHQ U-Net + ArcFace + DINO; the FFHQ and ArcFace \
            files are only published on Google Drive: download them by hand and use 'stylefilter models import'), \
            'all'. Files already present and verified are skipped.

            Examples:
              stylefilter models fetch --mode image
              stylefilter models fetch --mode text --mode image
              stylefilter models fetch clip-vitb32
              STYLEFILTER_MIRROR=https://mirror.example.org \\
                  stylefilter models fetch dino-vitb8
            """)

    enum FetchMode: String, CaseIterable, ExpressibleByArgument {
        case text, image, faces, all
    }

    @OptionGroup var directory: ModelsDirectoryOptions

    @Argument(help: ArgumentHelp("Model names (see 'stylefilter models list').", valueName: "name"))
    var names: [String] = []

    @Option(help: ArgumentHelp("Fetch what a mode needs: text, image, faces or all (repeatable).", valueName: "mode"))
    var mode: [FetchMode] = []

    @Flag(help: "Download again even when a verified file is present.")
    var force = false

    func validate() throws {
        if names.isEmpty && mode.isEmpty {
            throw ValidationError("name the models to fetch or pass --mode text|image|faces|all")
        }
    }

    func execute(_ context: ModelsContext) throws {
        let store = try context.store(directory)
        var entries: [ModelEntry] = []
        for name in names { entries.append(try store.entry(named: name)) }
        var modes = Set<ModelMode>()
        for choice in mode {
            if choice == .all { modes.formUnion(ModelMode.allCases) } else if let one = ModelMode(rawValue: choice.rawValue) { modes.insert(one) }
        }
        for entry in store.catalog where !entry.modes.isDisjoint(with: modes) && !entries.contains(entry) { entries.append(entry) }
        var failures: [StyleFilterError] = []
        let style = context.progressStyle()
        for entry in entries {
            let view = TransferProgressView(label: entry.name, style: style)
            do {
                let result = try store.fetch(
                    entry, force: force,
                    log: { line in
                        view.abandon()
                        context.note(line)
                    },
                    progress: { view.update($0) })
                switch result {
                case .alreadyPresent:
                    context.note("\(entry.name): already present and verified (\(entry.fileName))")
                case .downloaded(let url, let bytes, let pinnedNow):
                    let check = entry.publishedSHA256 != nil ? "published SHA-256 verified" : pinnedNow ? "no published hash: SHA-256 pinned" : "pinned SHA-256 verified"
                    context.note("\(entry.name): \(ByteCount.format(bytes)) from \(url), \(check)")
                }
            } catch let error as StyleFilterError {
                view.abandon()
                Console.error(error.message)
                failures.append(error)
            }
        }
        if let first = failures.first {
            // Each message is already printed; end with the status of the first failure.
            throw StyleFilterError(first.kind, failures.count == 1 ? "" : "\(failures.count) of \(entries.count) models could not be fetched")
        }
        context.note("\(entries.count) model\(entries.count == 1 ? "" : "s") ready in \(store.directory.path)")
    }
}
