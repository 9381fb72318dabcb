import Foundation

/// Human-readable sizes and durations for messages and progress.
package enum ByteCount {
    /// `2.21 GB`, `343 MB`, `12 kB`, `512 B` (decimal units, as download sizes are usually quoted).
    package static func format(_ bytes: Int64) -> String {
        let value = Double(bytes)
        if bytes < 1000 { return "\(bytes) B" }
        for (limit, unit) in [(1e6, "kB"), (1e9, "MB"), (1e12, "GB")] where value < limit {
            let scaled = value / (limit / 1000)
            let digits = scaled < 10 ? "%.2f" : scaled < 100 ? "%.1f" : "%.0f"
            return String(format: digits, scaled) + " " + unit
        }
        return String(format: "%.2f TB", value / 1e12)
    }

    /// `0.5 s`, `60 s`.
    package static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }
}
