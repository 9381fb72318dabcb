import CVips
import CVipsShim

/// A libvips byte source: a file, a file descriptor (stdin) or memory.
public final class VSource: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<VipsSource>

    private init(_ pointer: UnsafeMutablePointer<VipsSource>) { self.pointer = pointer }

    deinit { g_object_unref(pointer) }

    /// Reads from `descriptor` (libvips dup()s it, so the caller's descriptor stays open).
    public static func descriptor(_ descriptor: Int32) throws(VipsError) -> VSource {
        try Vips.start()
        guard let source = vips_source_new_from_descriptor(descriptor) else {
            throw VipsError.fromBuffer("source fd \(descriptor)")
        }
        return VSource(source)
    }

    /// Reads a file (mappable and seekable).
    public static func file(_ path: String) throws(VipsError) -> VSource {
        try Vips.start()
        guard let source = vips_source_new_from_file(path) else { throw VipsError.fromBuffer(path) }
        return VSource(source)
    }

    /// Up to `count` bytes from the start of the source, without consuming them (loaders still see
    /// everything).
    public func peek(_ count: Int) -> [UInt8] {
        var data: UnsafeMutablePointer<UInt8>?
        let length = vips_source_sniff_at_most(pointer, &data, count)
        guard length > 0, let data else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: Int(length)))
    }

    /// Everything from the start of the source, or nil when it holds more than `limit` bytes.
    public func readAll(limit: Int) throws(VipsError) -> [UInt8]? {
        guard vips_source_rewind(pointer) == 0 else { throw VipsError.fromBuffer("rewind") }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { vips_source_read(pointer, $0.baseAddress, $0.count) }
            if count < 0 { throw VipsError.fromBuffer("read") }
            if count == 0 { return bytes }
            if bytes.count + count > limit { return nil }
            bytes.append(contentsOf: chunk[..<count])
        }
    }

    /// Reads from a copy of `bytes`.
    public static func memory(_ bytes: [UInt8]) throws(VipsError) -> VSource {
        try Vips.start()
        // libvips borrows the memory of a memory source and decodes lazily, possibly after this wrapper is
        // gone; a blob is reference-counted by libvips itself, so the bytes live as long as any user.
        let blob = bytes.withUnsafeBytes { vips_blob_copy($0.baseAddress, $0.count) }
        guard let blob else { throw VipsError.fromBuffer("memory source") }
        defer { vips_area_unref(UnsafeMutableRawPointer(blob).assumingMemoryBound(to: VipsArea.self)) }
        guard let source = vips_source_new_from_blob(blob) else { throw VipsError.fromBuffer("memory source") }
        return VSource(source)
    }
}

/// A libvips byte target: memory, or a file descriptor the caller owns (a temporary file the filter
/// renames into place, so a decode failure half way never leaves a partial image downstream).
public final class VTarget: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<VipsTarget>
    /// The descriptor and first errno of a descriptor target (nil for memory).
    private let sink: UnsafeMutablePointer<cvips_descriptor_sink>?

    private init(_ pointer: UnsafeMutablePointer<VipsTarget>, sink: UnsafeMutablePointer<cvips_descriptor_sink>? = nil) {
        self.pointer = pointer
        self.sink = sink
    }

    deinit {
        g_object_unref(pointer)
        sink?.deallocate()
    }

    /// A target that writes (reads back and seeks, for savers that need to) through `descriptor`, which
    /// stays open and owned by the caller. A failed write keeps its errno: see ``writeError``.
    public static func descriptor(_ descriptor: Int32) throws(VipsError) -> VTarget {
        try Vips.start()
        let sink = UnsafeMutablePointer<cvips_descriptor_sink>.allocate(capacity: 1)
        sink.initialize(to: cvips_descriptor_sink(fd: descriptor, error: 0))
        guard let target = cvips_target_new_to_sink(sink) else {
            sink.deallocate()
            throw VipsError.fromBuffer("descriptor target")
        }
        return VTarget(target, sink: sink)
    }

    /// The errno of the first system call on a descriptor target's file that failed, if any: a saver's
    /// error after it is the file's (a full disk), not the image's.
    public var writeError: Int32? {
        guard let sink, sink.pointee.error != 0 else { return nil }
        return sink.pointee.error
    }

    /// A growable in-memory target; read the result with ``bytes()``.
    public static func memory() throws(VipsError) -> VTarget {
        try Vips.start()
        guard let target = vips_target_new_to_memory() else { throw VipsError.fromBuffer("memory target") }
        return VTarget(target)
    }

    /// The bytes written to a memory target, once a saver has finished with it.
    public func bytes() -> [UInt8] {
        // After the saver ends the target, libvips 8.14 keeps the result only in the "blob" property
        // (vips_target_steal would dereference the already released buffer).
        var value = GValue()
        g_value_init(&value, vips_blob_get_type())
        defer { g_value_unset(&value) }
        g_object_get_property(UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: GObject.self), "blob", &value)
        guard let boxed = g_value_get_boxed(&value) else { return [] }
        var length = 0
        guard let data = vips_blob_get(boxed.assumingMemoryBound(to: VipsBlob.self), &length) else { return [] }
        return Array(UnsafeRawBufferPointer(start: data, count: length))
    }
}
