import Engine
import Foundation
import VipsBridge

/// What a long style run shows while it works: `file` (`--preview`) is replaced, atomically, with the
/// current x̂₀ estimate every `every` steps, in the format of its extension; `framesDirectory`
/// (`--frames`) gets every step's estimate as numbered PNGs (`frame_00001.png`, ...), as upstream's
/// `save_video` keeps them.
public struct StylePreview: Sendable, Equatable {
    public var file: String?
    /// Steps between previews (fused steps in the tiled modes).
    public var every: Int
    public var framesDirectory: String?

    public init(file: String? = nil, every: Int = 10, framesDirectory: String? = nil) {
        self.file = file
        self.every = every
        self.framesDirectory = framesDirectory
    }

    /// Whether anything is asked for.
    var isActive: Bool { file != nil || framesDirectory != nil }

    /// Throws a one-line reason when the settings cannot work (before any work is done).
    public func validate() throws {
        guard every >= 1 else { throw StyleFilterError(.usage, "style: --preview-every must be at least 1") }
        if let file { _ = try OutputSpec.resolve(output: file, format: nil, strip: false) }
        if let framesDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: framesDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw StyleFilterError(.cannotCreateOutput, "style: --frames '\(framesDirectory)' is not a directory")
            }
        }
    }
}

/// Writes the estimates a run's samplers hand over (``EstimateSink``) as ``StylePreview`` asks: at the
/// output's size (a model-size estimate is resized with a cheap linear kernel), without colour
/// matching.
final class StylePreviewWriter: EstimateSink {
    let preview: StylePreview
    let width: Int, height: Int
    /// Steps offered so far, over all outputs and restarts.
    private(set) var steps = 0
    private var rowWriter: VImageRowWriter?
    private var row: [UInt8]

    init(_ preview: StylePreview, width: Int, height: Int) {
        self.preview = preview
        self.width = width
        self.height = height
        row = [UInt8](repeating: 0, count: 3 * width)
    }

    func wantsNextEstimate() -> Bool {
        steps += 1
        return preview.framesDirectory != nil || (preview.file != nil && steps % preview.every == 0)
    }

    func estimate(_ x0: Tensor) throws {
        let bytes = DiffuseITOutput.truncatedBytes(planar: x0.scalars, channels: 3)
        let small = try StyleImages.image(bytes: bytes, width: x0.shape[3], height: x0.shape[2])
        let image = try wrap(.failure, "style: preview") { () throws(VipsError) in
            small.width == width && small.height == height ? small
                : try small.resize(scale: Double(width) / Double(small.width), verticalScale: Double(height) / Double(small.height), kernel: .linear)
        }
        try emit(image)
    }

    func rows(_ band: Tensor, y0: Int) throws {
        if rowWriter == nil {
            rowWriter = try wrap(.failure, "style: preview") { () throws(VipsError) in
                try VImageRowWriter(width: width, height: height, bands: 3, format: .uchar, interpretation: "srgb")
            }
        }
        guard let rowWriter else { return }
        let n = band.shape[2]
        for v in 0..<n {
            band.withUnsafeBufferPointer { DiffuseITOutput.truncatedRow($0, row: v, rows: n, into: &row) }
            try row.withUnsafeBufferPointer { (r) throws(VipsError) in try rowWriter.append(row: r) }
        }
    }

    func endRows() throws {
        guard let rowWriter else { return }
        self.rowWriter = nil
        try emit(try wrap(.failure, "style: preview") { () throws(VipsError) in try rowWriter.finish() })
    }

    private func emit(_ image: VImage) throws {
        if let directory = preview.framesDirectory {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(String(format: "frame_%05d.png", steps)).path
            try StyleImages.writePNG(image, to: path)
        }
        if let file = preview.file, steps % preview.every == 0 {
            let spec = try OutputSpec.resolve(output: file, format: nil, strip: false)
            let bytes = try wrap(.writeFailed, "style: encoding the preview") { () throws(VipsError) in
                try Foreign.encode(image, suffix: spec.suffix)
            }
            guard case .file(let path) = spec.destination else { return }
            // Replaced whole, so a viewer never reads half a preview.
            try AtomicFile.write(Data(bytes), to: path)
        }
    }
}
