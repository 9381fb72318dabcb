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
    /// `STYLEFILTER_ALLOW_HTTP=1`: accept an `http://` mirror (default: `https://` only).
    package var allowHTTP: Bool
    /// `STYLEFILTER_MAX_DOWNLOAD_BYTES`: the largest download accepted for any model; by default
    /// 1.5x the catalogue's size of the model plus 16 MB.
    package var maximumDownloadBytes: Int64?

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        func nonEmpty(_ key: String) -> String? {
            guard let value = environment[key], !value.isEmpty else { return nil }
            return value
        }
        modelsDirectory = nonEmpty("STYLEFILTER_MODELS")
        xdgCacheHome = nonEmpty("XDG_CACHE_HOME")
        home = nonEmpty("HOME")
        mirror = nonEmpty("STYLEFILTER_MIRROR")
        func flag(_ key: String) throws -> Bool {
            let text = nonEmpty(key) ?? "0"
            switch text.lowercased() {
            case "1", "true", "yes": return true
            case "0", "false", "no": return false
            default: throw StyleFilterError(.usage, "\(key) must be 1 or 0, got '\(text)'")
            }
        }
        offline = try flag("STYLEFILTER_OFFLINE")
        allowHTTP = try flag("STYLEFILTER_ALLOW_HTTP")
        if let text = nonEmpty("STYLEFILTER_MAX_DOWNLOAD_BYTES") {
            guard let value = Int64(text), value > 0 else {
                throw StyleFilterError(.usage, "STYLEFILTER_MAX_DOWNLOAD_BYTES must be a number of bytes > 0, got '\(text)'")
            }
            maximumDownloadBytes = value
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
        if let mirror {
            let scheme = URL(string: mirror)?.scheme?.lowercased()
            guard scheme == "https" || (scheme == "http" && allowHTTP) else {
                throw StyleFilterError(.usage, "STYLEFILTER_MIRROR must be an https:// URL (http:// only with STYLEFILTER_ALLOW_HTTP=1), got '\(mirror)'")
            }
        }
    }

    /// The largest download accepted for `entry`.
    package func downloadLimit(for entry: ModelEntry) -> Int64 {
        maximumDownloadBytes ?? entry.approximateBytes / 2 * 3 + 16_000_000
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
