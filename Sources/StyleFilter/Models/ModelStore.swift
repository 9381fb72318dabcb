import Engine
import Foundation

/// The models directory as a set of verified files: status, fetch, verify and import.
///
/// Nothing unverified ever sits under a model's final file name: downloads and copies go to
/// `<file>.partial`, are hashed and checked, fsynced, and only then renamed.
package struct ModelStore: Sendable {
    package let directory: ModelsDirectory
    package var environment: ModelEnvironment
    /// The models this store knows (the built-in ``ModelCatalog`` unless a test passes its own).
    package let catalog: [ModelEntry]

    package init(directory: ModelsDirectory, environment: ModelEnvironment, catalog: [ModelEntry] = ModelCatalog.entries) {
        self.directory = directory
        self.environment = environment
        self.catalog = catalog
    }

    /// The catalogue entry called `name`, or a usage error listing the names.
    package func entry(named name: String) throws -> ModelEntry {
        if let found = catalog.first(where: { $0.name == name.lowercased() }) { return found }
        throw StyleFilterError(
            .usage, "unknown model '\(name)'; known models: \(catalog.map(\.name).joined(separator: ", "))")
    }

    // MARK: Status

    /// What is on disk for one entry, judged without hashing.
    package enum FileState: Sendable, Equatable {
        case missing
        /// Only an interrupted download (`.partial`) of this many bytes.
        case partial(Int64)
        /// Present and unchanged (size and modification time) since its last full verification.
        case verified
        /// Present but never verified here (copied in by hand).
        case unverified
        /// Present, same size as recorded, but modified since the last verification.
        case modified
        /// Present with a different size than the verified one: certainly not the verified file.
        case wrongSize(expected: Int64, found: Int64)
    }

    package struct Status: Sendable {
        package let entry: ModelEntry
        package let path: String
        package let state: FileState
        /// Size on disk when present.
        package let size: Int64?
        /// The pin/verification record, if any.
        package let record: ModelPins.Record?

        /// True when a run can use the file without a full re-hash.
        package var isInstalled: Bool { state == .verified }
    }

    package func status(_ entry: ModelEntry, pins: ModelPins? = nil) throws -> Status {
        let pins = try pins ?? loadPins()
        let path = directory.filePath(entry)
        let record = pins.files[entry.fileName]
        guard let info = AtomicFile.fileInfo(path) else {
            if let partial = AtomicFile.fileInfo(directory.partialPath(entry)) {
                return Status(entry: entry, path: path, state: .partial(partial.size), size: nil, record: record)
            }
            return Status(entry: entry, path: path, state: .missing, size: nil, record: record)
        }
        let state: FileState
        if let record {
            if record.size != info.size {
                state = .wrongSize(expected: record.size, found: info.size)
            } else if record.verifiedModification == info.modification {
                state = .verified
            } else {
                state = .modified
            }
        } else {
            state = .unverified
        }
        return Status(entry: entry, path: path, state: state, size: info.size, record: record)
    }

    package func statuses() throws -> [Status] {
        let pins = try loadPins()
        return try catalog.map { try status($0, pins: pins) }
    }

    func loadPins() throws -> ModelPins { try ModelPins.load(from: directory.pinsPath) }

    /// The path of `entry`'s file for a run, checked cheaply (size and modification time against the last
    /// full verification) so a run never hashes gigabytes; every other state is a one-line error (78)
    /// that names the command that fixes it.
    func installedPath(_ entry: ModelEntry) throws -> String {
        let current = try status(entry)
        let installHint = "install it with 'stylefilter models fetch \(entry.name)', or import a local copy with 'stylefilter models import FILE'"
        switch current.state {
        case .verified:
            return current.path
        case .missing, .partial:
            throw StyleFilterError(
                .modelNotUsable,
                "model '\(entry.name)' is not installed (looked for \(entry.fileName) in \(directory.path), from \(directory.source.rawValue)); \(installHint)")
        case .unverified, .modified:
            throw StyleFilterError(
                .modelNotUsable,
                "model '\(entry.name)' at \(current.path) has not been verified since it was \(current.state == .modified ? "modified" : "copied there"); run 'stylefilter models verify \(entry.name)'")
        case .wrongSize(let expected, let found):
            throw StyleFilterError(
                .modelNotUsable,
                "model '\(entry.name)' at \(current.path) is corrupt (\(found) bytes, verified size \(expected)); run 'stylefilter models fetch --force \(entry.name)'")
        }
    }

    // MARK: Verify

    package enum Verification: Sendable, Equatable {
        /// The hash matches the published or pinned one; `pinnedNow` when this run recorded the first pin.
        case ok(sha256: String, pinnedNow: Bool)
        case missing
        case mismatch(expected: String, actual: String, published: Bool)
        /// No reference hash, and the tensors are not the expected architecture (`found` says what they are).
        case wrongArchitecture(found: String)
    }

    /// Re-hashes the entry's file and checks it against the published hash or the pin. A present file
    /// with neither is pinned now if its tensors show the expected architecture.
    package func verify(_ entry: ModelEntry, hashProgress: ((Int64) -> Void)? = nil) throws -> Verification {
        let path = directory.filePath(entry)
        guard AtomicFile.fileInfo(path) != nil else { return .missing }
        return try withLock {
            var pins = try loadPins()
            return try verifyLocked(entry, pins: &pins, hashProgress: hashProgress)
        }
    }

    private func newRecord(_ sha: String, _ size: Int64, _ entry: ModelEntry, source: String) -> ModelPins.Record {
        ModelPins.Record(
            sha256: sha, size: size, published: entry.publishedSHA256 != nil, source: source,
            pinnedAt: ModelPins.timestamp(), verifiedModification: 0)
    }

    /// Whether an installed entry's tensors are the architecture the catalogue expects (headers and
    /// shapes only), so a run can load it.
    package func isRecognised(_ status: Status) -> Bool {
        status.isInstalled && (try? recognise(status.path)) == status.entry.architecture
    }

    /// The architecture identifier of a checkpoint, or a description of why it has none.
    func recognise(_ path: String) throws -> String {
        do {
            let archive = try Checkpoint.open(path)
            return ArchitectureRecognition.recognise(archive)?.identifier ?? "no known architecture"
        } catch let error as CheckpointError {
            return "not a readable checkpoint (\(error.description))"
        }
    }

    // MARK: Fetch

    package enum FetchResult: Sendable, Equatable {
        /// Already there and verified (by its record, or re-hashed now).
        case alreadyPresent
        /// Downloaded from `url`, `bytes` long, verified against the published hash or pinned now.
        case downloaded(url: String, bytes: Int64, pinnedNow: Bool)
    }

    /// Makes `entry` present and verified, downloading it when needed (resuming a `.partial` file).
    ///
    /// `force` downloads again even when a verified file is present. The download is checked against the
    /// published hash, else the pin, else (first download) its tensors must show the expected architecture
    /// and its hash is pinned. On mismatch the partial file is deleted and nothing is installed.
    package func fetch(
        _ entry: ModelEntry, force: Bool = false, log: @escaping @Sendable (String) -> Void = { _ in },
        progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }
    ) throws -> FetchResult {
        try directory.create()
        return try withLock {
            var pins = try loadPins()
            let current = try status(entry, pins: pins)
            if !force {
                switch current.state {
                case .verified:
                    return .alreadyPresent
                case .unverified, .modified, .wrongSize:
                    switch try verifyLocked(entry, pins: &pins) {
                    case .ok: return .alreadyPresent
                    case .mismatch(let expected, let actual, _):
                        throw StyleFilterError(
                            .modelNotUsable,
                            "\(current.path) is present but its SHA-256 is \(actual), expected \(expected); run 'stylefilter models fetch --force \(entry.name)' to download it again")
                    case .wrongArchitecture(let found):
                        throw StyleFilterError(
                            .modelNotUsable,
                            "\(current.path) is present but is not \(entry.architecture) (\(found)); run 'stylefilter models fetch --force \(entry.name)' to download it again")
                    case .missing: break
                    }
                case .missing, .partial: break
                }
            }
            let urls = environment.downloadURLs(for: entry)
            guard let first = urls.first, let url = URL(string: first) else {
                throw StyleFilterError(
                    .modelNotUsable,
                    "\(entry.name) has no direct download: get \(entry.fileName) from \(entry.manualSource ?? "its upstream project"), then run 'stylefilter models import \(entry.fileName)' (or set STYLEFILTER_MIRROR)")
            }
            if environment.offline {
                throw StyleFilterError(
                    .unavailable,
                    "network access is disabled (STYLEFILTER_OFFLINE=1): \(entry.name) would be downloaded from \(first); run 'stylefilter models fetch \(entry.name)' where the network is allowed, or download the file elsewhere and run 'stylefilter models import FILE'")
            }
            let partial = directory.partialPath(entry)
            let downloader = ModelDownloader(
                stallTimeout: environment.stallTimeout, attempts: environment.attempts, maximumBytes: environment.downloadLimit(for: entry), log: log)
            let bytes: Int64
            do {
                bytes = try downloader.download(url, to: partial, progress: progress)
            } catch {
                // Keep a partial file with data (the next fetch resumes it), not an empty one.
                if AtomicFile.fileInfo(partial)?.size == 0 { unlink(partial) }
                throw error
            }
            if bytes >= 100_000_000 { log("\(entry.name): verifying SHA-256 of \(ByteCount.format(bytes))") }
            let (sha, size) = try FileDigest.sha256(ofFileAt: partial)
            let expected = entry.publishedSHA256 ?? pins.files[entry.fileName]?.sha256
            if let expected, expected != sha {
                unlink(partial)
                let what = entry.publishedSHA256 != nil ? "the published SHA-256" : "the SHA-256 pinned on \(pins.files[entry.fileName]?.pinnedAt ?? "?")"
                throw StyleFilterError(
                    .modelNotUsable,
                    "checksum mismatch for \(entry.fileName) from \(first): got \(sha), expected \(expected) (\(what)); the download was deleted and nothing was installed")
            }
            if expected == nil {
                let found = try recognise(partial)
                guard found == entry.architecture else {
                    unlink(partial)
                    throw StyleFilterError(
                        .modelNotUsable,
                        "the file downloaded from \(first) is not \(entry.architecture) (\(found)); it was deleted and nothing was installed")
                }
            }
            let final = directory.filePath(entry)
            try AtomicFile.rename(partial, to: final)
            var record = pins.files[entry.fileName] ?? newRecord(sha, size, entry, source: first)
            record.size = size
            record.verifiedModification = AtomicFile.fileInfo(final)?.modification ?? 0
            pins.files[entry.fileName] = record
            try pins.save(to: directory.pinsPath)
            return .downloaded(url: first, bytes: bytes, pinnedNow: expected == nil)
        }
    }

    /// Re-hashes for callers that hold the lock; records the verification (and the first pin) on success.
    private func verifyLocked(
        _ entry: ModelEntry, pins: inout ModelPins, hashProgress: ((Int64) -> Void)? = nil
    ) throws -> Verification {
        let path = directory.filePath(entry)
        let (sha, size) = try FileDigest.sha256(ofFileAt: path, progress: hashProgress)
        let modification = AtomicFile.fileInfo(path)?.modification ?? 0
        let pinnedNow = entry.publishedSHA256 == nil && pins.files[entry.fileName] == nil
        if let expected = entry.publishedSHA256 ?? pins.files[entry.fileName]?.sha256 {
            guard expected == sha else { return .mismatch(expected: expected, actual: sha, published: entry.publishedSHA256 != nil) }
        } else {
            let found = try recognise(path)
            guard found == entry.architecture else { return .wrongArchitecture(found: found) }
        }
        var record = pins.files[entry.fileName] ?? newRecord(sha, size, entry, source: path)
        record.size = size
        record.verifiedModification = modification
        pins.files[entry.fileName] = record
        try pins.save(to: directory.pinsPath)
        return .ok(sha256: sha, pinnedNow: pinnedNow)
    }

    // MARK: Import

    package struct ImportResult: Sendable, Equatable {
        package let entry: ModelEntry
        package let path: String
        package let sha256: String
        /// How the file was identified: "published SHA-256", "pinned SHA-256" or "tensor shapes".
        package let identifiedBy: String
        package let linked: Bool
    }

    /// Copies (or symlinks, with `link`) a file obtained by hand into the models directory, after
    /// identifying it by hash (published or pinned) or by its tensors' architecture, and pins its hash.
    ///
    /// `name` restricts the match to one entry; `force` replaces a different file already installed.
    package func importFile(
        _ source: String, as name: String? = nil, link: Bool = false, force: Bool = false,
        hashProgress: ((Int64) -> Void)? = nil
    ) throws -> ImportResult {
        let sourcePath = URL(fileURLWithPath: (source as NSString).expandingTildeInPath).standardizedFileURL.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: sourcePath, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw StyleFilterError(.missingInput, "cannot import '\(source)': no such file")
        }
        let wanted = try name.map { try entry(named: $0) }
        try directory.create()
        return try withLock {
            var pins = try loadPins()
            let (sha, size) = try FileDigest.sha256(ofFileAt: sourcePath, progress: hashProgress)
            let candidates = wanted.map { [$0] } ?? catalog
            var match: (entry: ModelEntry, by: String)?
            if let byHash = candidates.first(where: { $0.publishedSHA256 == sha }) {
                match = (byHash, "published SHA-256")
            } else if let byPin = candidates.first(where: { $0.publishedSHA256 == nil && pins.files[$0.fileName]?.sha256 == sha }) {
                match = (byPin, "pinned SHA-256")
            } else {
                let found = try recognise(sourcePath)
                if let byShape = candidates.first(where: { $0.architecture == found }) {
                    match = (byShape, "tensor shapes")
                } else if let wanted {
                    throw StyleFilterError(
                        .badInput, "'\(source)' is not \(wanted.name): its tensors show \(found)")
                } else {
                    throw StyleFilterError(
                        .badInput,
                        "'\(source)' is not a model StyleFilter knows (\(found)); 'stylefilter models inspect \(source)' shows what it contains")
                }
            }
            guard let (entry, identifiedBy) = match else { throw StyleFilterError(.badInput, "'\(source)' was not recognised") }
            if let published = entry.publishedSHA256, published != sha {
                throw StyleFilterError(
                    .modelNotUsable,
                    "'\(source)' looks like \(entry.name) but its SHA-256 is \(sha), not the published \(published); download the official file with 'stylefilter models fetch \(entry.name)'")
            }
            let pinned = pins.files[entry.fileName]
            let final = directory.filePath(entry)
            if let pinned, pinned.sha256 != sha, !force {
                throw StyleFilterError(
                    .modelNotUsable,
                    "'\(source)' differs from the \(entry.fileName) pinned on \(pinned.pinnedAt) (SHA-256 \(sha), pinned \(pinned.sha256)); pass --force to replace the pin")
            }
            if sourcePath != final, AtomicFile.fileInfo(final) != nil, pinned?.sha256 != sha, !force {
                throw StyleFilterError(.usage, "\(final) already exists with other content; pass --force to replace it")
            }
            if sourcePath == final {
                // Already in place (copied in by hand): just record it.
            } else if link {
                let temporary = directory.partialPath(entry)
                unlink(temporary)
                guard symlink(sourcePath, temporary) == 0 else {
                    throw StyleFilterError(.cannotCreateOutput, "cannot create a link at '\(temporary)': \(String(cString: strerror(errno)))")
                }
                try AtomicFile.rename(temporary, to: final)
            } else {
                let temporary = directory.partialPath(entry)
                let copied = try copyHashing(sourcePath, to: temporary)
                guard copied == sha else {
                    unlink(temporary)
                    throw StyleFilterError(.modelNotUsable, "'\(source)' changed while it was being imported; nothing was installed")
                }
                try AtomicFile.rename(temporary, to: final)
            }
            var record = newRecord(sha, size, entry, source: "import \(sourcePath)")
            if let pinned, pinned.sha256 == sha { record.pinnedAt = pinned.pinnedAt }
            record.verifiedModification = AtomicFile.fileInfo(final)?.modification ?? 0
            pins.files[entry.fileName] = record
            try pins.save(to: directory.pinsPath)
            return ImportResult(entry: entry, path: final, sha256: sha, identifiedBy: identifiedBy, linked: link && sourcePath != final)
        }
    }

    /// Copies `source` to `destination` in chunks, fsyncs it, and returns the SHA-256 of what was written.
    private func copyHashing(_ source: String, to destination: String) throws -> String {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw StyleFilterError(.missingInput, "cannot read '\(source)': \(String(cString: strerror(errno)))") }
        defer { close(input) }
        unlink(destination)
        let output = try PartialFile(path: destination)
        defer { output.close() }
        let chunk = FileDigest.chunkSize
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = read(input, buffer.baseAddress, chunk)
            if count < 0 {
                if errno == EINTR { continue }
                throw StyleFilterError(.missingInput, "cannot read '\(source)': \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            try output.append(Data(bytes: buffer.baseAddress!, count: count))
        }
        try output.sync()
        return try FileDigest.sha256(ofFileAt: destination).hex
    }

    // MARK: Locking

    /// Runs `body` holding an exclusive `flock` on `<dir>/.lock`, so two processes never download or
    /// rewrite the pin record at once.
    func withLock<T>(_ body: () throws -> T) throws -> T {
        try directory.create()
        let lockPath = (directory.path as NSString).appendingPathComponent(".lock")
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StyleFilterError(.cannotCreateOutput, "cannot open '\(lockPath)': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw StyleFilterError(.cannotCreateOutput, "cannot lock '\(lockPath)': \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}
