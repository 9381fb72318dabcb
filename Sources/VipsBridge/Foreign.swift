import CVips

/// How strict loaders are about damaged input (libvips `VipsFailOn`).
public enum FailOn: String, CaseIterable, Sendable {
    /// Never fail: a truncated file decodes with a grey/garbage bottom.
    case none
    /// Fail on truncated files (the filter's default).
    case truncated
    /// Fail on any decoder error.
    case error
    /// Fail on any decoder warning.
    case warning
}

/// A loader or saver known to this libvips build.
public struct ForeignFormat: Sendable, Equatable {
    /// GType name, e.g. `VipsForeignLoadJpegSource`.
    public let typeName: String
    /// Operation nickname, e.g. `jpegload_source`.
    public let nickname: String
    /// libvips' one-line description, with the suffixes it handles.
    public let summary: String
    /// Whether the operation is blocked (untrusted loaders are blocked unless allowed).
    public let blocked: Bool
}

/// Format discovery and the load/save entry points used by the filter.
public enum Foreign {
    /// The loader libvips' sniffers pick for `source`, as a GType name; throws when the bytes are not
    /// in any known format.
    public static func loaderTypeName(for source: VSource) throws(VipsError) -> String {
        try Vips.start()
        guard let name = vips_foreign_find_load_source(source.pointer) else {
            throw VipsError.fromBuffer("input")
        }
        return String(cString: name)
    }

    /// The target saver for a suffix such as `.png` or `.jpg[Q=90]`, or nil when libvips has none.
    public static func saverTypeName(forSuffix suffix: String) -> String? {
        guard (try? Vips.start()) != nil else { return nil }
        vips_error_freeze()
        defer { vips_error_thaw() }
        guard let name = vips_foreign_find_save_target(suffix) else { return nil }
        return String(cString: name)
    }

    /// Splits `out.jpg[Q=90]` into (`out.jpg`, `[Q=90]`); the options part is empty when absent.
    public static func splitOptions(_ name: String) -> (name: String, options: String) {
        guard name.hasSuffix("]"), let open = name.lastIndex(of: "[") else { return (name, "") }
        return (String(name[..<open]), String(name[open...]))
    }

    /// Loads the image in `source` lazily, top to bottom (`access=sequential`), with the given strictness.
    /// Pixels are decoded only when something downstream pulls them.
    public static func load(_ source: VSource, failOn: FailOn = .truncated, sequential: Bool = true) throws(VipsError) -> VImage {
        let loader = try loaderTypeName(for: source)
        return try OperationCall.callImage(
            loader,
            [
                "source": .source(source), "access": .nickname(sequential ? "sequential" : "random"),
                "fail_on": .nickname(failOn.rawValue),
            ])
    }

    /// Encodes `image` with the saver picked by `suffix` (`.png`, `.jpg[Q=90]`, ...) into memory.
    /// `strip` drops ICC/EXIF/XMP metadata.
    public static func encode(_ image: VImage, suffix: String, strip: Bool = false) throws(VipsError) -> [UInt8] {
        let target = try VTarget.memory()
        try save(image, suffix: suffix, to: target, strip: strip)
        return target.bytes()
    }

    /// Encodes `image` into `target` with the saver picked by `suffix`.
    public static func save(_ image: VImage, suffix: String, to target: VTarget, strip: Bool = false) throws(VipsError) {
        guard let saver = saverTypeName(forSuffix: suffix) else {
            throw VipsError("\"\(suffix)\" is not a known output format")
        }
        let options = splitOptions(suffix).options
        // Some 8.14 savers ignore `strip` (webpsave keeps XMP, EXIF and ICC): the fields go first.
        let input = strip ? try image.editingMetadata { $0.removeMetadata() } : image
        var arguments: [(String, VipsArgument)] = [("in", .image(input)), ("target", .target(target))]
        // libvips 8.14 spells metadata removal as the boolean `strip` (8.15 replaced it with `keep`).
        // The netpbm savers' only metadata is a comment with the time of writing: always dropped, so the
        // same input gives the same bytes.
        let netpbm = g_type_is_a(g_type_from_name(saver), g_type_from_name("VipsForeignSavePpm")) != 0
        if strip || netpbm { arguments.append(("strip", .bool(true))) }
        try VipsLog.failingOnFailedTiles { () throws(VipsError) in try OperationCall.call(saver, options: options, arguments) }
    }

    /// Loaders (`"VipsForeignLoad"`) or savers (`"VipsForeignSave"`) with a `source`/`target` variant.
    public static func list(_ base: String) -> [ForeignFormat] {
        guard (try? Vips.start()) != nil else { return [] }
        final class Collector { var names: [String] = [] }
        let collector = Collector()
        _ = vips_type_map_all(g_type_from_name(base), { type, context in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            if let name = g_type_name(type) { collector.names.append(String(cString: name)) }
            return nil
        }, Unmanaged.passUnretained(collector).toOpaque())
        return collector.names.filter { $0.hasSuffix("Source") || $0.hasSuffix("Target") }.sorted().compactMap { name in
            let type = g_type_from_name(name)
            guard let nick = vips_nickname_find(type) else { return nil }
            let classPointer = g_type_class_ref(type)
            defer { g_type_class_unref(classPointer) }
            let objectClass = classPointer!.assumingMemoryBound(to: VipsObjectClass.self)
            let operationClass = classPointer!.assumingMemoryBound(to: VipsOperationClass.self)
            let summary = objectClass.pointee.description.map { String(cString: $0) } ?? ""
            let blocked = (operationClass.pointee.flags.rawValue & VIPS_OPERATION_BLOCKED.rawValue) != 0
            return ForeignFormat(typeName: name, nickname: String(cString: nick), summary: summary, blocked: blocked)
        }
    }
}
