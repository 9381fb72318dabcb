import Foundation

/// The settings `models` commands take from the environment, read once so tests can pass their own.
public struct ModelEnvironment: Sendable {
    /// `STYLEFILTER_MODELS`: the models directory when `--models-dir` is not given.
    public var modelsDirectory: String?
    /// `XDG_CACHE_HOME` and `HOME`, for the default directory.
    public var xdgCacheHome: String?
    public var home: String?
    /// `STYLEFILTER_MIRROR`: a base URL that replaces the official hosts (the URL path is kept).
    package var mirror: String?
    /// `STYLEFILTER_OFFLINE=1`: never touch the network.
    package var offline: Bool
    /// `STYLEFILTER_STALL_TIMEOUT` (seconds, default 60): a download that receives nothing for this long fails.
    package var stallTimeout: Double
    /// `STYLEFILTER_FETCH_ATTEMPTS` (default 3): tries per file; later tries resume the partial file.
    package var attempts: Int

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func nonEmpty(_ key: String) -> String? {
            guard let value = environment[key], !value.isEmpty else { return nil }
            return value
        }
        modelsDirectory = nonEmpty("STYLEFILTER_MODELS")
        xdgCacheHome = nonEmpty("XDG_CACHE_HOME")
        home = nonEmpty("HOME")
        mirror = nonEmpty("STYLEFILTER_MIRROR")
        let offlineText = nonEmpty("STYLEFILTER_OFFLINE") ?? "0"
        switch offlineText.lowercased() {
        case "1", "true", "yes": offline = true
        case "0", "false", "no": offline = false
        default: throw StyleFilterError(.usage, "STYLEFILTER_OFFLINE must be 1 or 0, got '\(offlineText)'")
        }
        if let text = nonEmpty("STYLEFILTER_STALL_TIMEOUT") {
            guard let value = Double(text), value > 0, value.isFinite else {
                throw StyleFilterError(.usage, "STYLEFILTER_STALL_TIMEOUT must be a number of seconds > 0, got '\(text)'")
            }
            stallTimeout = value
        } else {
            stallTimeout = 60
        }
        if let text = nonEmpty("STYLEFILTER_FETCH_ATTEMPTS") {
            guard let value = Int(text), (1...100).contains(value) else {
                throw StyleFilterError(.usage, "STYLEFILTER_FETCH_ATTEMPTS must be a number from 1 to 100, got '\(text)'")
            }
            attempts = value
        } else {
            attempts = 3
        }
        if let mirror, URL(string: mirror)?.scheme.map({ ["http", "https"].contains($0.lowercased()) }) != true {
            throw StyleFilterError(.usage, "STYLEFILTER_MIRROR must be an http:// or https:// URL, got '\(mirror)'")
        }
    }

    /// The URLs to try for `entry`: the mirror alone when one is set, else the official ones.
    package func downloadURLs(for entry: ModelEntry) -> [String] {
        if let mirror {
            let base = mirror.hasSuffix("/") ? String(mirror.dropLast()) : mirror
            return [base + entry.mirrorPath]
        }
        return entry.urls
    }
}
