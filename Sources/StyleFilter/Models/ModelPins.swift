import Foundation

/// The record of verified files in a models directory (`pins.json`).
///
/// For files without a published hash, the first verified fetch or import *pins* the SHA-256 and size;
/// later fetches and `verify` must match it, so a file changed on the server or on disk is caught.
/// Files with a published hash get a record too: the size and modification time seen at the last full
/// hash let `list` and `fetch` tell a file that is unchanged since then without re-hashing gigabytes.
package struct ModelPins: Codable, Sendable, Equatable {
    package struct Record: Codable, Sendable, Equatable {
        /// Lower-case hex SHA-256 of the verified file.
        package var sha256: String
        /// Exact byte count.
        package var size: Int64
        /// True when `sha256` came from upstream; false when it was pinned here.
        package var published: Bool
        /// Where the file came from (URL or imported path).
        package var source: String
        /// When the hash was first recorded (ISO 8601).
        var pinnedAt: String
        /// File modification time (seconds since 1970) at the last full verification.
        var verifiedModification: Double
    }

    package var version = 1
    /// Records by file name.
    package var files: [String: Record] = [:]

    package init() {}

    /// Reads `path`; a missing file is an empty record set, an unreadable or malformed one an error
    /// (silently dropping pins would disable the check they exist for).
    package static func load(from path: String) throws -> ModelPins {
        guard FileManager.default.fileExists(atPath: path) else { return ModelPins() }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(ModelPins.self, from: data)
        } catch {
            throw StyleFilterError(
                .modelNotUsable,
                "the pin record '\(path)' is unreadable (\(error)); fix or delete it (deleting forgets the pinned hashes)")
        }
    }

    /// Writes atomically (temporary file, fsync, rename).
    package func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        try AtomicFile.write(data, to: path)
    }

    static func timestamp() -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date())
    }
}
