import Glibc
import Logging
import VipsBridge

/// Stages run in one process as one libvips pipeline: decode once, encode once.
///
/// Loading is sequential (top to bottom, streaming). A first stage that can shrink while decoding does
/// its own load; a stage that needs random access (or whole-image pixels) makes the chain decode into
/// memory once, just before it. Output is complete before anyone sees it (``OutputWriter``), so a decode
/// error half way never leaves half an image downstream.
///
/// Chains may run on several threads at once; their libvips computations (decoding into memory, encoding)
/// then take turns, each still on all of libvips' workers, so that a tile libvips fails to decode fails
/// the chain it belongs to and no other.
public struct Chain: Sendable {
    public let stages: [any Stage]

    public init(_ stages: [any Stage]) {
        self.stages = stages
    }

    /// Reads `input`, applies the stages, encodes and writes the result.
    public func run(input: ImageInput, output: OutputSpec, context: PipelineContext = PipelineContext()) throws {
        let writer = try OutputWriter(output.destination)
        let image: VImage
        do {
            image = try build(input: input, context: context)
        } catch let report as StageReport {
            // A report (dry run) read only headers; drain the rest as after a normal run.
            if input == .standardInput { Self.drainStandardInput() }
            throw report
        }
        if let progress = context.progress { image.onProgress { progress(ProgressEvent(.encoding, done: $0, total: 100)) } }
        try writer.write(image, input: input.displayName) { target throws(VipsError) in
            try Foreign.save(image, suffix: output.suffix, to: target, strip: output.strip)
        }
        // Decoders may stop before the end of the stream (trailing chunks, padding); read the rest so the
        // upstream writer does not die of SIGPIPE and fail a `set -o pipefail` pipeline.
        if input == .standardInput { Self.drainStandardInput() }
    }

    private static func drainStandardInput() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return }
        }
    }

    /// Reads `input`, applies the stages and returns the encoded output bytes.
    public func encode(input: ImageInput, output: OutputSpec, context: PipelineContext = PipelineContext()) throws -> [UInt8] {
        let image = try build(input: input, context: context)
        if let progress = context.progress { image.onProgress { progress(ProgressEvent(.encoding, done: $0, total: 100)) } }
        return try wrap(.badInput, "cannot decode \(input.displayName)") { () throws(VipsError) in
            try Foreign.encode(image, suffix: output.suffix, strip: output.strip)
        }
    }

    /// The lazy result image (nothing is decoded unless a stage needs random access).
    public func build(input: ImageInput, context: PipelineContext = PipelineContext()) throws -> VImage {
        var source = try input.openSource()
        var remaining = stages[...]
        var image: VImage
        var inMemory = false
        // The header alone says how large the input is; nothing is decoded before it is checked. A stage
        // that loads by itself (thumbnail_source) reads the source again from its start.
        let head = source.peek(1 << 16)
        if let (type, length) = PNGChunks.oversizedMetadata(head) {
            throw StyleFilterError(
                .badInput, "cannot read \(input.displayName): its PNG chunk '\(type)' declares \(length) bytes, over the \(PNGChunks.metadataLimit >> 20) MiB allowed for metadata")
        }
        let netpbm = PNMHeader.parse(head, complete: head.count < 1 << 16)
        if case .malformed(let token) = netpbm {
            throw StyleFilterError(.badInput, "cannot read \(input.displayName): its netpbm header has '\(token)' where a size should be")
        }
        if case .unfinished = netpbm {
            throw StyleFilterError(.badInput, "cannot read \(input.displayName): its netpbm header runs past the first 64 KiB without both sizes")
        }
        var header = try classify(input) { try Foreign.load(source, failOn: context.failOn) }
        if case .declared(let declared) = netpbm, (declared.width, declared.height) != ("\(header.width)"[...], "\(header.height)"[...]) {
            throw StyleFilterError(.badInput, "cannot read \(input.displayName): its header declares \(declared.width)x\(declared.height), not a valid size")
        }
        try Self.checkSize(header.width, header.height, context: context, what: "\(input.displayName) is", kind: .badInput)
        if case .declared(let declared) = netpbm, declared.isPlain {
            source = try Self.readPlainNetpbm(source, declared, width: header.width, height: header.height, input: input)
            header = try classify(input) { try Foreign.load(source, failOn: context.failOn) }
        }
        if let first = remaining.first, let loaded = try classify(input, { try first.load(from: source, context: context) }) {
            try Self.checkSize(loaded.width, loaded.height, context: context, what: "\(first.name): the result would be", kind: .usage)
            image = loaded
            remaining = remaining.dropFirst()
        } else {
            image = header
            if image.orientation > 1 {
                // autorot needs random access, which a sequential load cannot give.
                image = try materialise(image, input: input, context: context)
                inMemory = true
                image = try wrap(.failure) { () throws(VipsError) in try image.autorotate() }
            }
            image = try Self.normaliseColour(image)
        }
        for stage in remaining {
            if stage.needsRandomAccess && !inMemory {
                image = try materialise(image, input: input, context: context)
                inMemory = true
            }
            context.logger.debug("stage \(stage.name): \(image.width)x\(image.height) in")
            do {
                image = try stage.apply(to: image, context: context)
                try Self.checkSize(image.width, image.height, context: context, what: "\(stage.name): the result would be", kind: .usage)
            } catch let error as StyleFilterError {
                throw error
            } catch let report as StageReport {
                throw report
            } catch {
                throw StyleFilterError(.failure, "\(stage.name): \(error)")
            }
        }
        return image
    }

    /// A plain (text) netpbm input read whole into memory, refused when it is too short to hold every
    /// sample its header declares: libvips would read past the end one failed read per sample (minutes).
    /// Text of more than four times the fewest bytes (plus 64 KiB) is refused rather than held.
    private static func readPlainNetpbm(_ source: VSource, _ declared: PNMHeader, width: Int, height: Int, input: ImageInput) throws -> VSource {
        guard let minimum = declared.minimumPlainBytes(width: width, height: height),
            case (let limit, false) = minimum.multipliedReportingOverflow(by: 4), case (let cap, false) = limit.addingReportingOverflow(65536)
        else { throw StyleFilterError(.badInput, "cannot read \(input.displayName): \(width)x\(height) is too large for a plain netpbm file") }
        let bytes = try wrap(.badInput, "cannot read \(input.displayName)") { () throws(VipsError) in try source.readAll(limit: cap) }
        guard let bytes else {
            throw StyleFilterError(.badInput, "cannot read \(input.displayName): a plain netpbm file of \(width)x\(height) over \(cap) bytes")
        }
        guard bytes.count >= minimum else {
            throw StyleFilterError(
                .badInput, "cannot read \(input.displayName): its header declares \(width)x\(height) but the file is cut short (\(bytes.count) bytes, at least \(minimum) needed)")
        }
        return try wrap(.failure) { () throws(VipsError) in try VSource.memory(bytes) }
    }

    /// CMYK input becomes sRGB at load, through its embedded profile when it has one (thumbnail_source
    /// does the same), so every stage and saver sees RGB; other colour spaces are left to the stages.
    static func normaliseColour(_ image: VImage) throws -> VImage {
        guard image.interpretation == "cmyk" else { return image }
        return try wrap(.badInput, "cannot convert CMYK input to sRGB") { () throws(VipsError) in
            image.hasField("icc-profile-data") ? try image.iccTransform(to: "srgb") : try image.colourspace("srgb")
        }
    }

    /// Refuses an image over `--max-pixels`: one line naming the size, the limit and the flag.
    static func checkSize(_ width: Int, _ height: Int, context: PipelineContext, what: String, kind: StyleFilterError.Kind) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard overflow || pixels > context.maxPixels else { return }
        throw StyleFilterError(kind, "\(what) \(width)x\(height), over the limit of \(context.maxPixels) pixels (--max-pixels)")
    }

    private func materialise(_ image: VImage, input: ImageInput, context: PipelineContext) throws -> VImage {
        if let progress = context.progress { image.onProgress { progress(ProgressEvent(.decoding, done: $0, total: 100)) } }
        return try wrap(.badInput, "cannot decode \(input.displayName)") { () throws(VipsError) in try image.copyMemory() }
    }

    /// Loader failures mean the input is not a usable image.
    private func classify<T>(_ input: ImageInput, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StyleFilterError {
            throw error
        } catch let error as VipsError {
            throw StyleFilterError(.badInput, "cannot read \(input.displayName): \(Self.explain(error.message))")
        }
    }

    /// Rewords libvips' loader messages that have a plainer form or a known fix.
    static func explain(_ message: String) -> String {
        if message.contains("operation is blocked") {
            return message + " (untrusted loader; --allow-untrusted permits it)"
        }
        if message.contains("is not in a known format") { return "not an image in a known format" }
        return message
    }
}
