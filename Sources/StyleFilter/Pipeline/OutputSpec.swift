import Glibc
import VipsBridge

/// Where and how the result is written.
public struct OutputSpec: Sendable, Equatable {
    /// Standard output or a file.
    public enum Destination: Sendable, Equatable {
        case standardOutput
        case file(String)
    }

    public var destination: Destination
    /// libvips saver suffix with options, e.g. `.png` or `.jpg[Q=90]`.
    public var suffix: String
    /// Drop ICC/EXIF/XMP metadata.
    public var strip: Bool

    public init(destination: Destination, suffix: String, strip: Bool = false) {
        self.destination = destination
        self.suffix = suffix
        self.strip = strip
    }

    /// Resolves `-o`/`-f`: `-` or no `-o` means standard output (PNG unless `format` says otherwise); a file
    /// takes its format from `format` or else from its extension; `out.jpg[Q=90]` carries saver options.
    public static func resolve(output: String?, format: String?, strip: Bool) throws -> OutputSpec {
        let destination: Destination
        var suffix: String
        if let output, output != "-" {
            let (path, options) = Foreign.splitOptions(output)
            guard !path.isEmpty else { throw StyleFilterError(.usage, "empty output file name") }
            destination = .file(path)
            let fileName = path.split(separator: "/").last.map(String.init) ?? path
            if let dot = fileName.lastIndex(of: "."), dot != fileName.startIndex {
                suffix = String(fileName[dot...]) + options
            } else {
                suffix = ""
            }
        } else {
            destination = .standardOutput
            suffix = ".png"
        }
        if let format {
            suffix = format.hasPrefix(".") ? format : "." + format
        }
        guard !suffix.isEmpty else {
            throw StyleFilterError(.usage, "cannot tell the output format from '\(output ?? "-")'; add -f FORMAT (png, jpg, webp, ...)")
        }
        guard Foreign.saverTypeName(forSuffix: suffix) != nil else {
            throw StyleFilterError(.usage, "unknown output format '\(suffix)' (see 'stylefilter formats')")
        }
        // Saver options are checked now, on a 1x1 image, so a typo is a usage error before any work.
        if !Foreign.splitOptions(suffix).options.isEmpty {
            do {
                let probe = try [UInt8](repeating: 0, count: 3).withUnsafeBufferPointer { (buffer) throws(VipsError) in
                    try VImage.fromPixels(buffer, width: 1, height: 1, bands: 3, format: .uchar)
                }
                _ = try Foreign.encode(probe, suffix: suffix)
            } catch {
                throw StyleFilterError(.usage, "bad saver options in '\(suffix)': \(error.message)")
            }
        }
        if Foreign.splitOptions(suffix).name.lowercased() == ".v" || Foreign.splitOptions(suffix).name.lowercased() == ".vips" {
            throw StyleFilterError(.usage, "the libvips .v format cannot be written through a stream; use png, tif or pfm")
        }
        return OutputSpec(destination: destination, suffix: suffix, strip: strip)
    }
}
