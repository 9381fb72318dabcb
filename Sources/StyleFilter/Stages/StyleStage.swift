import Engine
import Foundation
import VipsBridge

/// `style`: DiffuseIT image translation as a chainable stage.
///
/// The image is taken whole as planar RGB, resized (Lanczos, aspect not kept, as upstream) to the
/// U-Net's native square size (256 for the official models), translated, and resized back to the
/// input's size; alpha is kept by the pixel bridge. Image mode (a style image) and text mode (a
/// target and a source text) as in upstream; see ``DiffuseITParameters`` for the settings.
public struct StyleStage: PixelStage {
    /// What steers the translation.
    public enum Guide: Sendable, Equatable {
        /// Image-guided: the path of the style image.
        case image(String)
        /// Text-guided: target text (`--prompt`) and source text (`--source-prompt`).
        case text(prompt: String, source: String)
    }

    public var guide: Guide
    public var parameters: DiffuseITParameters
    public var models: StyleModelFiles
    /// Independent outputs; the chain continues with the first, all are written to `iterationsDirectory`.
    public var iterations: Int
    public var iterationsDirectory: String?
    /// How the model size maps onto the image: whole (default), tiled or detail (`TiledStyle.swift`).
    public var mode: StyleMode = .whole
    /// Overlap and detail-pass settings of the tiled and detail modes.
    public var tiling = TilingOptions()

    public init(guide: Guide, parameters: DiffuseITParameters, models: StyleModelFiles, iterations: Int = 1, iterationsDirectory: String? = nil) throws {
        guard iterations >= 1 else { throw StyleFilterError(.usage, "style: --iterations must be at least 1") }
        guard iterations == 1 || iterationsDirectory != nil else {
            throw StyleFilterError(.usage, "style: --iterations above 1 needs --iterations-dir DIR for the extra outputs")
        }
        if case .text(let prompt, let source) = guide, prompt.isEmpty || source.isEmpty {
            throw StyleFilterError(.usage, "style: text mode needs a non-empty --prompt and --source-prompt")
        }
        self.guide = guide
        self.parameters = parameters
        self.models = models
        self.iterations = iterations
        self.iterationsDirectory = iterationsDirectory
    }

    public var name: String { "style" }

    var isImageMode: Bool { if case .image = guide { return true } else { return false } }

    /// Whole mode takes the image as planar RGB (through ``PixelBridge``); the tiled and detail modes
    /// read it by region and build their output row by row, so they never hold it in float.
    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        guard mode != .whole else { return try PixelBridge.apply(self, to: image, context: context) }
        let (colour, alpha, depth) = try PixelBridge.split(image)
        let translated = try translateTiled(colour, context: context)
        return try PixelBridge.join(translated, alpha: alpha, depth: depth, metadataFrom: colour)
    }

    public func process(_ pixels: PlanarRGB, context: PipelineContext) throws -> PlanarRGB {
        if mode != .whole {
            // 16 bits carry 8-bit levels exactly (level · 257).
            let image = try wrap(.failure, "style: input") { () throws(VipsError) in try VImage.fromPlanarRGB(pixels, depth: .sixteen) }
            let translated = try translateTiled(image, context: context)
            return try wrap(.failure, "style: output") { () throws(VipsError) in try translated.planarRGB() }
        }
        // Read the style image before any heavy work, so a bad one fails fast.
        var styleImage: PlanarRGB?
        if case .image(let path) = guide { styleImage = try StyleStage.loadStyleImage(path, failOn: context.failOn) }
        let networks = try models.load()
        let size = networks.unet.config.imageSize
        let diffusion = try StyleStage.wrapEngine {
            try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: parameters.timestepRespacing)
        }
        let source = StyleStage.tensor(try StyleStage.resized(pixels, width: size, height: size))
        let styleResized = try styleImage.map { try StyleStage.resized($0, width: size, height: size) }
        var clip: CLIPGuidance?
        if case .text(let prompt, let sourceText) = guide {
            clip = try StyleStage.wrapEngine {
                try CLIPGuidance(models: networks.clip, targetText: prompt, sourceText: sourceText, sourceImage: source, tokenizer: CLIPTokenizer.shared)
            }
        }
        let guidance = try StyleStage.wrapEngine {
            try DiffuseITGuidance(
                parameters: parameters, diffusion: diffusion, unet: networks.unet,
                dino: DINOLosses(model: networks.dino, globalPatchSize: networks.dinoPatchSize), clip: clip, source: source,
                style: styleResized.map(StyleStage.tensor))
        }
        let sampler = DiffuseITSampler(guidance: guidance)
        var rng = PhiloxGenerator(seed: context.seed, stream: 0x5354_594c)  // "STYL"
        let total = sampler.stepsPerOutput * iterations
        let clock = ContinuousClock(), start = clock.now
        var first: PlanarRGB?
        for i in 0..<iterations {
            let x0 = try StyleStage.wrapEngine {
                try sampler.run(rng: &rng, progress: { done, _ in
                    let finished = i * sampler.stepsPerOutput + done
                    context.progress?(min(99, 100 * finished / max(total, 1)))
                    let elapsed = clock.now - start
                    let eta = elapsed / finished * (total - finished)
                    context.logger.info("style: step \(finished)/\(total), elapsed \(StyleStage.format(elapsed)), ETA \(StyleStage.format(eta))")
                }, warn: { context.logger.warning("\($0)") })
            }
            var bytes = DiffuseITOutput.truncatedBytes(planar: x0.scalars, channels: 3)
            if let styleResized, parameters.useColormatch {
                bytes = DiffuseITOutput.colorMatched(output: bytes, style: StyleStage.truncatedStyleBytes(styleResized))
            }
            let result = try StyleStage.resized(StyleStage.planar(bytes: bytes, size: size), width: pixels.width, height: pixels.height)
            if let directory = iterationsDirectory {
                try StyleStage.write(result, to: URL(fileURLWithPath: directory).appendingPathComponent("style_i_\(i).png").path)
            }
            if first == nil { first = result }
        }
        context.progress?(100)
        return first!
    }

    // MARK: Helpers

    static func format(_ d: Duration) -> String {
        let s = Int(d.components.seconds)
        return String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
    }

    /// Engine errors (shapes, configs) become one-line failures.
    static func wrapEngine<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StyleFilterError {
            throw error
        } catch {
            throw StyleFilterError(.failure, "style: \(error)")
        }
    }

    /// The style image as planar sRGB (alpha dropped), or a bad-input error naming the file.
    static func loadStyleImage(_ path: String, failOn: FailOn) throws -> PlanarRGB {
        let source = try ImageInput.file(path).openSource()
        let image = try wrap(.badInput, "style image '\(path)' is not a readable image") { () throws(VipsError) in
            try Foreign.load(source, failOn: failOn, sequential: false).autorotate()
        }
        let colour = try PixelBridge.split(image).colour
        return try wrap(.badInput, "style image '\(path)'") { () throws(VipsError) in try colour.planarRGB() }
    }

    /// Lanczos-3 resize of planar RGB to exactly `width x height` (libvips, 16-bit intermediate).
    static func resized(_ p: PlanarRGB, width: Int, height: Int) throws -> PlanarRGB {
        if p.width == width && p.height == height { return p }
        let image = try wrap(.failure, "style: resize") { () throws(VipsError) in try VImage.fromPlanarRGB(p, depth: .sixteen) }
        return try resized(image, width: width, height: height)
    }

    /// Lanczos-3 resize of a 3-band 8/16-bit sRGB image to exactly `width x height` planar RGB, with a
    /// 16-bit intermediate (8-bit levels become level · 257, as ``resized(_:width:height:)-(PlanarRGB,_,_)``
    /// gives them).
    static func resized(_ source: VImage, width: Int, height: Int) throws -> PlanarRGB {
        try wrap(.failure, "style: resize") { () throws(VipsError) in
            let image = try source.widenedToSixteenBit()
            if image.width == width && image.height == height { return try image.planarRGB() }
            let scaled = try image.resize(scale: Double(width) / Double(image.width), verticalScale: Double(height) / Double(image.height))
            var out = try scaled.planarRGB()
            if out.width != width || out.height != height {  // libvips rounds sizes; pad/crop the last row/column
                var samples = [Float](repeating: 0, count: 3 * width * height)
                for c in 0..<3 { for y in 0..<height { for x in 0..<width {
                    samples[(c * height + y) * width + x] = out[c, min(y, out.height - 1), min(x, out.width - 1)]
                } } }
                out = PlanarRGB(width: width, height: height, samples: samples)
            }
            return out
        }
    }

    /// [0, 1] planar → `[1, 3, H, W]` in [−1, 1].
    static func tensor(_ p: PlanarRGB) -> Tensor {
        Tensor(shape: [1, 3, p.height, p.width], scalars: p.samples.map { $0 * 2 - 1 })
    }

    static func planar(bytes: [UInt8], size: Int) -> PlanarRGB {
        var samples = [Float](repeating: 0, count: bytes.count)
        let plane = size * size
        for p in 0..<plane { for c in 0..<3 { samples[c * plane + p] = Float(bytes[p * 3 + c]) / 255 } }
        return PlanarRGB(width: size, height: size, samples: samples)
    }

    /// The resized style image as 8-bit interleaved RGB (upstream's 256x256 PIL image).
    static func truncatedStyleBytes(_ p: PlanarRGB) -> [UInt8] {
        let plane = p.width * p.height
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for c in 0..<3 { for i in 0..<plane { out[i * 3 + c] = UInt8((min(max(p.samples[c * plane + i], 0), 1) * 255).rounded()) } }
        return out
    }

    static func write(_ p: PlanarRGB, to path: String) throws {
        let image = try wrap(.writeFailed, "style: encoding \(path)") { () throws(VipsError) in try VImage.fromPlanarRGB(p, depth: .eight) }
        try write(image, to: path)
    }

    static func write(_ image: VImage, to path: String) throws {
        let bytes = try wrap(.writeFailed, "style: encoding \(path)") { () throws(VipsError) in
            try Foreign.encode(image, suffix: ".png")
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw StyleFilterError(.cannotCreateOutput, "style: cannot write \(path)")
        }
    }
}
