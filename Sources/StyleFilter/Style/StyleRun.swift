import Engine
import Foundation
import VipsBridge

/// One `style` run: what the whole, tiled and detail modes share. It holds the networks, the style
/// image's targets, the run's one generator, the progress, and turns every output into bytes
/// (truncated, colour-matched) and `--iterations` files. Each mode is a small ``StyleModeRun`` over it.
final class StyleRun {
    /// The style image at the model size (image mode): the guidance's target and the colour
    /// reference.
    struct StyleReference {
        /// `[1, 3, S, S]` in [−1, 1].
        let tensor: Tensor
        /// 8-bit interleaved RGB, rounded (upstream's 256x256 PIL image).
        let bytes: [UInt8]
    }

    let settings: StyleStage
    let context: PipelineContext
    let networks: StyleNetworks
    /// The U-Net's square image size: the model size, the tile side.
    let size: Int
    let style: StyleReference?
    /// The run's one generator; its state carries from output to output, as upstream's does.
    var rng: PhiloxGenerator
    /// Where intermediate estimates go (`--preview`, `--frames`), once the output size is known.
    private(set) var estimates: StylePreviewWriter?

    var parameters: DiffuseITParameters { settings.parameters }

    init(_ settings: StyleStage, context: PipelineContext) throws {
        // Read the style image before any heavy work, so a bad one fails fast.
        var styleImage: VImage?
        if case .image(let path) = settings.guide { styleImage = try Self.loadStyleImage(path, failOn: context.failOn) }
        context.progress?(ProgressEvent(.loadingModels))
        networks = try settings.models.load()
        size = networks.unet.config.imageSize
        let size = size
        style = try styleImage.map { image in
            let resized = try StyleImages.resized(image, width: size, height: size)
            let planes = try wrap(.failure, "style: style image") { () throws(VipsError) in try resized.planarRGB() }
            return StyleReference(tensor: StyleImages.tensor(planes), bytes: StyleImages.roundedBytes(planes))
        }
        self.settings = settings
        self.context = context
        rng = PhiloxGenerator(seed: context.seed, stream: 0x5354_594c)  // "STYL"
    }

    /// The style image as 3-band sRGB (alpha dropped), or a bad-input error naming the file.
    static func loadStyleImage(_ path: String, failOn: FailOn) throws -> VImage {
        let source = try ImageInput.file(path).openSource()
        let image = try wrap(.badInput, "style image '\(path)' is not a readable image") { () throws(VipsError) in
            try Foreign.load(source, failOn: failOn, sequential: false).autorotate()
        }
        return try PixelBridge.split(image).colour
    }

    /// The run's guidance loss: image mode's style targets, or text mode's CLIP targets, and faces
    /// mode's identity loss, the last two built from `modelSizeSource()` (the picture of the source at
    /// the model size that the mode's whole-image terms compare with).
    func loss(modelSizeSource: () throws -> Tensor) throws -> DiffuseITLoss {
        var source: Tensor?
        func modelSize() throws -> Tensor {
            if let source { return source }
            let made = try modelSizeSource()
            source = made
            return made
        }
        var clip: CLIPGuidance?
        if case .text(let prompt, let sourceText) = settings.guide {
            clip = try CLIPGuidance(models: networks.clip, targetText: prompt, sourceText: sourceText, sourceImage: try modelSize(),
                tokenizer: CLIPTokenizer.shared)
        }
        let identity = try networks.arcface.map { try IdentityLoss(model: $0, source: try modelSize()) }
        return try DiffuseITLoss(parameters: parameters, dino: networks.dino, clip: clip, style: style?.tensor, identity: identity)
    }

    /// Whether outputs are colour-matched to the style image (image mode with `use_colormatch`).
    var matchesColours: Bool { style != nil && parameters.useColormatch }

    /// A model-size x̂₀ as the output's 8-bit interleaved RGB: truncated as upstream, then
    /// colour-matched when asked.
    func outputBytes(_ x0: Tensor) -> [UInt8] {
        var bytes = DiffuseITOutput.truncatedBytes(planar: x0.scalars, channels: 3)
        if let style, matchesColours {
            context.progress?(ProgressEvent(.colourMatching))
            ColorMatching.mkl(&bytes, style: style.bytes)
        }
        return bytes
    }

    /// Warnings of the samplers (bounded restarts) go to the log and the progress display.
    func warn(_ message: String) {
        context.logger.warning("\(message)")
        context.progress?(ProgressEvent(.restart, note: message))
    }

    /// Runs the stage's mode on `colour` (3-band 8/16-bit sRGB) for every output: the chain continues
    /// with the first, at `depth`; every output is also written to the iterations directory as 8-bit
    /// PNG.
    func translate(_ colour: VImage, depth: SampleDepth) throws -> VImage {
        if settings.preview.isActive { estimates = StylePreviewWriter(settings.preview, width: colour.width, height: colour.height) }
        context.progress?(ProgressEvent(.referenceFeatures))
        let mode: any StyleModeRun
        switch settings.mode {
        case .whole: mode = try WholeModeRun(self, source: colour)
        case .tiled: mode = try TiledModeRun(self, source: colour)
        case .detail: mode = try DetailModeRun(self, source: colour)
        }
        let progress = StyleProgress(stepsPerOutput: mode.stepsPerOutput, outputs: settings.iterations, context: context)
        var first: VImage?
        for i in 0..<settings.iterations {
            let output = try mode.output(offset: i * mode.stepsPerOutput, progress: progress)
            if let directory = settings.iterationsDirectory {
                try StyleImages.writePNG(try StyleImages.eightBit(output), to: URL(fileURLWithPath: directory).appendingPathComponent("style_i_\(i).png").path)
            }
            if first == nil { first = output }
        }
        guard let first else { throw StyleFilterError(.usage, "style: --iterations must be at least 1") }
        return depth == .eight ? try StyleImages.eightBit(first) : first
    }

    /// A tiled sampler's output as an 8-bit sRGB image of the source's size: rows go straight into a
    /// row-written libvips image as they become final, except when colours are matched, which needs
    /// the whole output's statistics first (one 3-byte-per-pixel buffer).
    func tiledOutput(
        _ sampler: TiledSampler, initial: any TileSource, startIndex: Int, resampleCount: Int, offset: Int, progress: StyleProgress
    ) throws -> VImage {
        let width = sampler.grid.width, height = sampler.grid.height
        let writer = try wrap(.failure, "style: output image") { () throws(VipsError) in
            try VImageRowWriter(width: width, height: height, bands: 3, format: .uchar, interpretation: "srgb")
        }
        let matchColours = matchesColours
        // Colour matching needs the whole output first; otherwise rows go straight to libvips.
        var kept = [UInt8](repeating: 0, count: matchColours ? 3 * width * height : 0)
        var row = [UInt8](repeating: 0, count: 3 * width)
        try sampler.run(initial: initial, startIndex: startIndex, resampleCount: resampleCount, rng: &rng, output: { band, y0 in
            let n = band.shape[2]
            for v in 0..<n {
                band.withUnsafeBufferPointer { DiffuseITOutput.truncatedRow($0, row: v, rows: n, into: &row) }
                if matchColours {
                    kept.replaceSubrange((3 * width * (y0 + v))..<(3 * width * (y0 + v + 1)), with: row)
                } else {
                    try row.withUnsafeBufferPointer { (r) throws(VipsError) in try writer.append(row: r) }
                }
            }
        }, progress: { progress.report(offset + $0) }, estimates: estimates, warn: warn)
        if let style, matchColours {
            context.progress?(ProgressEvent(.colourMatching))
            ColorMatching.mkl(&kept, style: style.bytes)
            try wrap(.failure, "style: output image") { () throws(VipsError) in
                for y in 0..<height {
                    try kept[(3 * width * y)..<(3 * width * (y + 1))].withUnsafeBufferPointer { (r) throws(VipsError) in try writer.append(row: r) }
                }
            }
        }
        return try wrap(.failure, "style: output image") { () throws(VipsError) in try writer.finish() }
    }

    /// The log line of a tiled run's geometry.
    func describe(_ sampler: TiledSampler, stepsPerOutput: Int) {
        let g = sampler.grid
        context.logger.info("style: \(settings.mode.rawValue) mode, \(g.columns.count)x\(g.rows.count) tiles of \(size) (overlap \(g.overlap)), \(stepsPerOutput) tile steps per output")
    }
}

/// One mode of a style run: prepared once (sources read, references computed), then run once per
/// output.
protocol StyleModeRun {
    /// Guided steps per output (tile steps in the tiled modes), for progress.
    var stepsPerOutput: Int { get }
    /// One output: 3-band sRGB of the source's size, 8 or 16 bits. `offset` is the number of steps
    /// the run took before it.
    func output(offset: Int, progress: StyleProgress) throws -> VImage
}
