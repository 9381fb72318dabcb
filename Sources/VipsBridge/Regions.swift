import CVips
import CVipsShim

extension VImage {
    /// The band-interleaved samples of the `width x height` rectangle at (`left`, `top`), computed
    /// through a libvips region: only the part of the pipeline that rectangle needs is evaluated.
    /// `T`'s size must match ``format``; the rectangle must lie inside the image.
    public func regionPixels<T: FixedWidthInteger>(
        of type: T.Type, left: Int, top: Int, width: Int, height: Int
    ) throws(VipsError) -> [T] {
        guard width > 0, height > 0, left >= 0, top >= 0, left + width <= self.width, top + height <= self.height else {
            throw VipsError("region \(width)x\(height)+\(left)+\(top) is outside the \(self.width)x\(self.height) image")
        }
        let bytesPerPixel = Int(vips_format_sizeof(vips_image_get_format(pointer))) * bands
        guard bytesPerPixel == bands * MemoryLayout<T>.size else {
            throw VipsError("region of \(format.nickname) samples read as \(MemoryLayout<T>.size)-byte values")
        }
        let count = width * height * bands
        var status: Int32 = 0
        return try VipsLog.failingOnFailedTiles { () throws(VipsError) in
            let samples = [T](unsafeUninitializedCapacity: count) { buffer, initialised in
                status = cvips_region_read(pointer, Int32(left), Int32(top), Int32(width), Int32(height), buffer.baseAddress, count * MemoryLayout<T>.size)
                initialised = status == 0 ? count : 0
            }
            guard status == 0 else { throw VipsError.fromBuffer("region") }
            return samples
        }
    }
}

/// Builds an in-memory libvips image row by row, top to bottom (`vips_image_write_line`), so a
/// producer that finishes rows in order never holds a second copy of the image.
public final class VImageRowWriter {
    private let image: VImage
    public let width: Int, height: Int, bands: Int
    public let format: BandFormat
    private var nextRow = 0

    /// An empty `width x height` image of `bands` samples of `format` per pixel, tagged with
    /// `interpretation` (a libvips nickname such as `"srgb"`).
    public init(width: Int, height: Int, bands: Int, format: BandFormat, interpretation: String) throws(VipsError) {
        try Vips.start()
        guard width > 0, height > 0, bands > 0 else { throw VipsError("cannot build an empty \(width)x\(height) image") }
        guard let pointer = vips_image_new_memory() else { throw VipsError.fromBuffer("new_memory") }
        let kind = vips_enum_from_nick("stylefilter", vips_interpretation_get_type(), interpretation)
        guard kind >= 0 else {
            g_object_unref(pointer)
            throw VipsError.fromBuffer("interpretation")
        }
        vips_image_init_fields(
            pointer, Int32(width), Int32(height), Int32(bands), VipsBandFormat(rawValue: Int32(format.rawValue)),
            VIPS_CODING_NONE, VipsInterpretation(rawValue: kind), 1, 1)
        image = VImage(owning: pointer)
        self.width = width
        self.height = height
        self.bands = bands
        self.format = format
    }

    /// Rows written so far.
    public var rowsWritten: Int { nextRow }

    /// Appends the next row: `width × bands` interleaved samples whose size matches ``format``.
    public func append<T: FixedWidthInteger>(row samples: UnsafeBufferPointer<T>) throws(VipsError) {
        precondition(samples.count == width * bands, "a row has width × bands samples")
        precondition(MemoryLayout<T>.size == Int(vips_format_sizeof(vips_image_get_format(image.pointer))), "sample size does not match the format")
        guard nextRow < height else { throw VipsError("all \(height) rows are already written") }
        let base = UnsafeMutableRawPointer(mutating: samples.baseAddress!).assumingMemoryBound(to: VipsPel.self)
        guard vips_image_write_line(image.pointer, Int32(nextRow), base) == 0 else { throw VipsError.fromBuffer("write_line") }
        nextRow += 1
    }

    /// The finished image; every row must have been appended.
    public func finish() throws(VipsError) -> VImage {
        guard nextRow == height else { throw VipsError("image has \(nextRow) of \(height) rows") }
        return image
    }
}
