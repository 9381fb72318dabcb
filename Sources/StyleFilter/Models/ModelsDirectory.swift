import Foundation

/// Where model files live: `--models-dir`, else `$STYLEFILTER_MODELS`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/stylefilter/models` (weights can be downloaded again, so they are cache).
public struct ModelsDirectory: Sendable, Equatable {
    /// Which setting chose the directory, for messages.
    public enum Source: String, Sendable {
        case option = "--models-dir"
        case environment = "$STYLEFILTER_MODELS"
        case xdgCache = "$XDG_CACHE_HOME"
        case homeCache = "$HOME/.cache"
    }

    public let path: String
    public let source: Source

    public init(path: String, source: Source) {
        self.path = path
        self.source = source
    }

    /// Resolves the directory; relative paths are taken from the current directory, except
    /// `XDG_CACHE_HOME`, which the XDG spec says to ignore when relative.
    public static func resolve(option: String?, environment: ModelEnvironment) throws -> ModelsDirectory {
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            let expanded = (path as NSString).expandingTildeInPath
            return URL(fileURLWithPath: expanded, relativeTo: URL(fileURLWithPath: cwd, isDirectory: true)).standardizedFileURL.path
        }
        if let option {
            guard !option.isEmpty else { throw StyleFilterError(.usage, "--models-dir needs a directory") }
            return ModelsDirectory(path: absolute(option), source: .option)
        }
        if let value = environment.modelsDirectory { return ModelsDirectory(path: absolute(value), source: .environment) }
        if let xdg = environment.xdgCacheHome, xdg.hasPrefix("/") {
            return ModelsDirectory(path: URL(fileURLWithPath: xdg).appendingPathComponent("stylefilter/models").path, source: .xdgCache)
        }
        guard let home = environment.home, home.hasPrefix("/") else {
            throw StyleFilterError(.usage, "cannot find a models directory: HOME is not set; pass --models-dir or set STYLEFILTER_MODELS")
        }
        return ModelsDirectory(
            path: URL(fileURLWithPath: home).appendingPathComponent(".cache/stylefilter/models").path, source: .homeCache)
    }

    /// The path of `entry`'s file in this directory.
    public func filePath(_ entry: ModelEntry) -> String { (path as NSString).appendingPathComponent(entry.fileName) }

    /// The path a download of `entry` is written to until it is verified.
    package func partialPath(_ entry: ModelEntry) -> String { filePath(entry) + ".partial" }

    /// The pin record file.
    package var pinsPath: String { (path as NSString).appendingPathComponent("pins.json") }

    /// Creates the directory (and parents) if needed.
    func create() throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StyleFilterError(.cannotCreateOutput, "cannot create models directory '\(path)': \(Self.reason(error))")
        }
    }

    static func reason(_ error: any Error) -> String {
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
