import Engine
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A planar float32 image `[3, H, W]` that a tiled run keeps from one step to the next (x_t, and
/// the next sample being fused).
///
/// Up to `memoryLimit` bytes it lives in memory. Beyond that it lives in an unlinked temporary file
/// in `$TMPDIR`, read and written a tile or a band of rows at a time with pread/pwrite: the kernel's
/// page cache holds it, not the process, so the run's resident memory stays bounded by the tiles in
/// flight whatever the image size (as libvips spills large intermediates to disc). The file has no
/// name from the start, so an interrupted run leaves nothing behind.
final class TiledCanvas {
    let width: Int, height: Int
    private let memory: UnsafeMutableBufferPointer<Float>?
    private let descriptor: Int32

    /// Whether the canvas lives in a temporary file.
    var isFileBacked: Bool { memory == nil }

    /// Bytes of a `width x height` canvas (three float32 planes).
    static func bytes(width: Int, height: Int) -> Int { 3 * width * height * MemoryLayout<Float>.size }

    /// Whether such a canvas stays in memory under `memoryLimit`.
    static func fitsInMemory(width: Int, height: Int, memoryLimit: Int) -> Bool { bytes(width: width, height: height) <= memoryLimit }

    /// `directory` holds the file when one is needed (default `$TMPDIR`, else /tmp).
    init(width: Int, height: Int, memoryLimit: Int, directory: String? = nil) throws {
        self.width = width
        self.height = height
        let count = 3 * width * height
        if TiledCanvas.fitsInMemory(width: width, height: height, memoryLimit: memoryLimit) {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            memory = buffer
            descriptor = -1
            return
        }
        memory = nil
        let directory = directory ?? ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((directory + "/stylefilter-canvas-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw StyleFilterError(.cannotCreateOutput, "style: cannot create a working file in \(directory) (\(String(cString: strerror(errno)))); set TMPDIR to a writable directory")
        }
        _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        descriptor = fd
        guard ftruncate(fd, off_t(TiledCanvas.bytes(width: width, height: height))) == 0 else {
            close(fd)
            throw StyleFilterError(.failure, "style: cannot size the working file in \(directory): \(String(cString: strerror(errno)))")
        }
    }

    deinit {
        memory?.deallocate()
        if descriptor >= 0 { close(descriptor) }
    }

    /// Offset in floats of (channel, row, column).
    @inline(__always)
    private func offset(_ c: Int, _ y: Int, _ x: Int) -> Int { (c * height + y) * width + x }

    /// Copies `count` floats at float offset `at` into `out`.
    private func load(_ out: UnsafeMutablePointer<Float>, at: Int, count: Int) throws {
        if let memory {
            out.update(from: memory.baseAddress! + at, count: count)
            return
        }
        try transfer(UnsafeMutableRawPointer(out), bytes: count * 4, fileOffset: at * 4, write: false)
    }

    private func store(_ values: UnsafePointer<Float>, at: Int, count: Int) throws {
        if let memory {
            (memory.baseAddress! + at).update(from: values, count: count)
            return
        }
        try transfer(UnsafeMutableRawPointer(mutating: values), bytes: count * 4, fileOffset: at * 4, write: true)
    }

    private func transfer(_ pointer: UnsafeMutableRawPointer, bytes: Int, fileOffset: Int, write: Bool) throws {
        var done = 0
        while done < bytes {
            let n = write
                ? pwrite(descriptor, pointer + done, bytes - done, off_t(fileOffset + done))
                : pread(descriptor, pointer + done, bytes - done, off_t(fileOffset + done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let reason = n == 0 ? "unexpected end of file" : String(cString: strerror(errno))
                throw StyleFilterError(.failure, "style: cannot \(write ? "write" : "read") the tiled run's working file: \(reason)")
            }
            done += n
        }
    }

    /// The `w x h` rectangle at (x, y) as `[1, 3, h, w]`.
    func read(x: Int, y: Int, width w: Int, height h: Int) throws -> Tensor {
        precondition(x >= 0 && y >= 0 && x + w <= width && y + h <= height, "rectangle outside the canvas")
        var out = Tensor(uninitializedShape: [1, 3, h, w])
        try out.withUnsafeMutableBufferPointer { dst in
            if w == width {
                for c in 0..<3 { try load(dst.baseAddress! + c * h * w, at: offset(c, y, 0), count: h * w) }
                return
            }
            for c in 0..<3 {
                for v in 0..<h { try load(dst.baseAddress! + (c * h + v) * w, at: offset(c, y + v, x), count: w) }
            }
        }
        return out
    }

    /// Rows y0 ..< y0 + n, full width, as `[1, 3, n, W]`.
    func readRows(_ y0: Int, count n: Int) throws -> Tensor {
        try read(x: 0, y: y0, width: width, height: n)
    }

    /// Stores `band` (`[1, 3, n, W]`) as rows y0 ..< y0 + n.
    func writeRows(_ y0: Int, _ band: Tensor) throws {
        let n = band.shape[2]
        precondition(band.shape == [1, 3, n, width] && y0 >= 0 && y0 + n <= height, "band does not fit the canvas")
        try band.withUnsafeBufferPointer { src in
            for c in 0..<3 { try store(src.baseAddress! + c * n * width, at: offset(c, y0, 0), count: n * width) }
        }
    }

    /// Applies `transform(band, y0)` to every band of up to `rows` rows, top to bottom, in place.
    func updateRows(bandHeight rows: Int, _ transform: (Tensor, Int) throws -> Tensor) throws {
        var y0 = 0
        while y0 < height {
            let n = min(rows, height - y0)
            try writeRows(y0, try transform(try readRows(y0, count: n), y0))
            y0 += n
        }
    }
}
