import CVips
import CVipsShim

/// Sample type of each band of an image (libvips `VipsBandFormat`).
public enum BandFormat: Int, Sendable, CaseIterable {
    case uchar = 0, char, ushort, short, uint, int, float, complex, double, dpcomplex

    /// libvips' nickname, as used in option strings (`"uchar"`, `"ushort"`, `"float"`).
    public var nickname: String {
        String(cString: vips_enum_nick(vips_band_format_get_type(), Int32(rawValue)))
    }
}

/// An immutable libvips image: a node of a lazy pipeline until something pulls its pixels.
///
/// libvips images are immutable and thread-safe, hence `@unchecked Sendable`.
public final class VImage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<VipsImage>

    /// Takes over one reference to `pointer`.
    init(owning pointer: UnsafeMutablePointer<VipsImage>) {
        self.pointer = pointer
    }

    deinit {
        g_object_unref(pointer)
        // Progress handlers are only called while this image is computed, which needs this reference.
        for box in progressBoxes { box.release() }
    }

    public var width: Int { Int(vips_image_get_width(pointer)) }
    public var height: Int { Int(vips_image_get_height(pointer)) }
    public var bands: Int { Int(vips_image_get_bands(pointer)) }

    public var format: BandFormat {
        BandFormat(rawValue: Int(vips_image_get_format(pointer).rawValue)) ?? .uchar
    }

    /// The bytes its pixels take uncompressed (Int.max if that does not fit an Int).
    public var uncompressedSize: Int {
        let element = Int(vips_format_sizeof(vips_image_get_format(pointer)))
        var total = element
        for factor in [bands, width, height] {
            let (product, overflow) = total.multipliedReportingOverflow(by: factor)
            if overflow { return .max }
            total = product
        }
        return total
    }

    /// The colour interpretation nickname (`"srgb"`, `"b-w"`, `"rgb16"`, `"grey16"`, `"cmyk"`, ...).
    public var interpretation: String {
        String(cString: vips_enum_nick(vips_interpretation_get_type(), Int32(vips_image_get_interpretation(pointer).rawValue)))
    }

    /// Whether the last band is alpha (libvips' rule: 2 bands B_W, 4 bands sRGB/RGB16, 5 bands CMYK).
    public var hasAlpha: Bool { vips_image_hasalpha(pointer) != 0 }

    /// EXIF orientation 1...8 (1 when there is no tag).
    public var orientation: Int { Int(vips_image_get_orientation(pointer)) }

    /// The alpha value meaning "opaque" for this image's sample format: 65535 for 16-bit, else 255.
    public var maxAlpha: Double {
        switch format {
        case .ushort, .short: 65535
        case .float, .double, .complex, .dpcomplex:
            interpretation == "scrgb" ? 1 : 255
        default: 255
        }
    }

    /// Names of all header and metadata fields.
    public var fieldNames: [String] {
        guard let fields = vips_image_get_fields(pointer) else { return [] }
        defer { g_strfreev(fields) }
        var names: [String] = []
        var index = 0
        while let name = fields[index] {
            names.append(String(cString: name))
            index += 1
        }
        return names
    }

    public func hasField(_ name: String) -> Bool { vips_image_get_typeof(pointer, name) != 0 }

    public func int(_ name: String) -> Int? {
        guard hasField(name) else { return nil }
        var value: Int32 = 0
        return vips_image_get_int(pointer, name, &value) == 0 ? Int(value) : nil
    }

    public func string(_ name: String) -> String? {
        guard hasField(name) else { return nil }
        var value: UnsafePointer<CChar>?
        guard vips_image_get_string(pointer, name, &value) == 0, let value else {
            vips_error_clear()
            return nil
        }
        return String(cString: value)
    }

    /// Size in bytes of a binary metadata field (`icc-profile-data`, `exif-data`, ...).
    public func blobSize(_ name: String) -> Int? {
        guard hasField(name) else { return nil }
        var data: UnsafeRawPointer?
        var length = 0
        return vips_image_get_blob(pointer, name, &data, &length) == 0 ? length : nil
    }

    /// A copy of a binary metadata field.
    public func blob(_ name: String) -> [UInt8]? {
        guard hasField(name) else { return nil }
        var data: UnsafeRawPointer?
        var length = 0
        guard vips_image_get_blob(pointer, name, &data, &length) == 0, let data else { return nil }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }

    /// Evaluates the pipeline into memory; the result allows random access (cheap repeated reads).
    public func copyMemory() throws(VipsError) -> VImage {
        try VipsLog.failingOnFailedTiles { () throws(VipsError) in
            guard let copied = vips_image_copy_memory(pointer) else { throw VipsError.fromBuffer("copy_memory") }
            return VImage(owning: copied)
        }
    }

    /// Evaluates the pipeline and returns the band-interleaved, row-major pixel bytes.
    public func pixelBytes() throws(VipsError) -> [UInt8] {
        try withPixels(of: UInt8.self) { Array($0) }
    }

    /// Reads the pixels as interleaved values of type `T` (whose size must match ``format``).
    func withPixels<T, R>(of type: T.Type, _ body: (UnsafeBufferPointer<T>) throws(VipsError) -> R) throws(VipsError) -> R {
        var size = 0
        let memory = try VipsLog.failingOnFailedTiles { () throws(VipsError) in
            guard let memory = vips_image_write_to_memory(pointer, &size) else { throw VipsError.fromBuffer("write_to_memory") }
            return memory
        }
        defer { g_free(memory) }
        let typed = memory.bindMemory(to: T.self, capacity: size / MemoryLayout<T>.stride)
        return try body(UnsafeBufferPointer(start: typed, count: size / MemoryLayout<T>.stride))
    }

    /// Builds an image from band-interleaved, row-major samples (copied).
    public static func fromPixels<T>(
        _ samples: UnsafeBufferPointer<T>, width: Int, height: Int, bands: Int, format: BandFormat
    ) throws(VipsError) -> VImage {
        try Vips.start()
        precondition(samples.count == width * height * bands, "sample count does not match the geometry")
        guard
            let image = vips_image_new_from_memory_copy(
                samples.baseAddress, samples.count * MemoryLayout<T>.stride, Int32(width), Int32(height),
                Int32(bands), VipsBandFormat(rawValue: Int32(format.rawValue)))
        else { throw VipsError.fromBuffer("new_from_memory_copy") }
        return VImage(owning: image)
    }

    /// A new image with the same pixels and edited metadata (images are immutable once shared, so
    /// libvips' `copy` makes a private header first).
    public func editingMetadata(_ edit: (MetadataEditor) -> Void) throws(VipsError) -> VImage {
        let copy = try OperationCall.callImage("copy", ["in": .image(self)])
        edit(MetadataEditor(image: copy))
        return copy
    }

    /// Calls `handler` with the percentage done while this image is computed (libvips' `eval` signal).
    /// The handler lives as long as the image.
    public func onProgress(_ handler: @escaping @Sendable (Int) -> Void) {
        let box = Unmanaged.passRetained(ProgressBox(handler))
        progressBoxes.append(box)
        cvips_image_on_progress(pointer, { percent, data in
            Unmanaged<ProgressBox>.fromOpaque(data!).takeUnretainedValue().handler(Int(percent))
        }, box.toOpaque())
    }

    private var progressBoxes: [Unmanaged<ProgressBox>] = []

    private final class ProgressBox {
        let handler: @Sendable (Int) -> Void
        init(_ handler: @escaping @Sendable (Int) -> Void) { self.handler = handler }
    }
}

/// Edits the metadata of a freshly copied, not yet shared image (see ``VImage/editingMetadata(_:)``).
public struct MetadataEditor {
    let image: VImage

    public func set(_ name: String, int value: Int) { vips_image_set_int(image.pointer, name, Int32(clamping: value)) }

    public func set(_ name: String, string value: String) { vips_image_set_string(image.pointer, name, value) }

    public func remove(_ name: String) { _ = vips_image_remove(image.pointer, name) }

    /// Sets a binary field (`xmp-data`, ...) to a copy of `bytes`.
    public func set(_ name: String, blob bytes: [UInt8]) {
        bytes.withUnsafeBytes { vips_image_set_blob_copy(image.pointer, name, $0.baseAddress, $0.count) }
    }

    /// Copies every metadata field of `source` that is not part of the pixel geometry (ICC, EXIF, XMP,
    /// IPTC, orientation, resolution, PNG comments, ...).
    public func copyMetadata(from source: VImage) {
        for name in source.fieldNames where !MetadataEditor.geometryFields.contains(name) {
            var value = GValue()
            guard vips_image_get(source.pointer, name, &value) == 0 else {
                vips_error_clear()
                continue
            }
            vips_image_set(image.pointer, name, &value)
            g_value_unset(&value)
        }
    }

    /// Removes every metadata field that is not pixel geometry (what `copyMetadata(from:)` would copy).
    public func removeMetadata() {
        for name in image.fieldNames where !MetadataEditor.geometryFields.contains(name) { remove(name) }
    }

    static let geometryFields: Set<String> = [
        "width", "height", "bands", "format", "coding", "interpretation", "xoffset", "yoffset", "filename",
        "mode", "n-pages", "page-height", "vips-loader",
    ]
}
