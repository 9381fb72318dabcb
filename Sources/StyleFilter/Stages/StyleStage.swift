import Engine
import VipsBridge

/// The number format of a style run's matrix products (the engine's `MatmulPrecision`): fp32 or bf16.
public typealias StylePrecision = MatmulPrecision

/// `style`: DiffuseIT image translation as a chainable stage.
///
/// Image mode (a style image) and text mode (a target and a source text) as upstream; see
/// ``DiffuseITParameters`` for the settings and ``StyleMode`` for how the model's 256x256 maps onto the
/// image. The colour bands are translated as 8/16-bit sRGB; alpha, depth and metadata are kept.
public struct StyleStage: Stage {
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
    /// How the model size maps onto the image: whole (default), tiled or detail.
    public var mode: StyleMode = .whole
    /// Overlap and detail-pass settings of the tiled and detail modes.
    public var tiling = TilingOptions()
    /// Live preview and video frames of the x̂₀ estimates while the run works.
    public var preview = StylePreview()
    /// The preset the parameters started from, recorded in the output's provenance (`paper`, `fast`).
    public var preset: String?
    /// The seed of this stage's run; nil takes the pipeline's (``PipelineContext/seed``). A replay sets it.
    public var seed: UInt64?
    /// Whether the output carries its ``StyleProvenance`` (`--strip` drops it anyway).
    public var recordsProvenance = true
    /// The networks' matrix products: fp32 (default, the upstream parity path) or bf16 on CPUs with
    /// AVX512-BF16 (about 1e-2 relative change of a step's guidance gradient; see BENCHMARKS.md for the speed).
    public var precision: StylePrecision = .fp32

    public init(guide: Guide, parameters: DiffuseITParameters, models: StyleModelFiles, iterations: Int = 1, iterationsDirectory: String? = nil) throws {
        guard iterations >= 1 else { throw StyleFilterError(.usage, "style: --iterations must be at least 1") }
        guard iterations == 1 || iterationsDirectory != nil else {
            throw StyleFilterError(.usage, "style: --iterations above 1 needs --iterations-dir DIR for the extra outputs")
        }
        if case .text(let prompt, let source) = guide, prompt.isEmpty || source.isEmpty {
            throw StyleFilterError(.usage, "style: text mode needs a non-empty --prompt and --source-prompt")
        }
        do { try parameters.validateSchedule() } catch let error as DiffuseITError { throw StyleFilterError(.usage, error.description) }
        guard parameters.useFFHQ == (models.arcface != nil) else {
            throw StyleFilterError(.usage, "style: faces mode (use_ffhq) needs the ArcFace identity network among the models, and only it does")
        }
        self.guide = guide
        self.parameters = parameters
        self.models = models
        self.iterations = iterations
        self.iterationsDirectory = iterationsDirectory
    }

    /// The precision called `name` (`fp32`, `bf16`), checked against this CPU before any work.
    /// - Throws: a usage error (status 64) for an unknown name or one this CPU cannot run.
    public static func precision(named name: String) throws -> StylePrecision {
        guard let precision = StylePrecision(rawValue: name) else {
            let known = StylePrecision.allCases.map(\.rawValue).joined(separator: ", ")
            throw StyleFilterError(.usage, "style: unknown --precision '\(name)' (known: \(known))")
        }
        guard precision.isSupported else { throw StyleFilterError(.usage, "style: \(MatmulPrecisionError.unsupported(precision))") }
        return precision
    }

    public var name: String { "style" }

    /// The source is read more than once (whole mode resizes it, the tiled modes read it by region).
    public var needsRandomAccess: Bool { true }

    public func apply(to image: VImage, context: PipelineContext) throws -> VImage {
        let (colour, alpha, depth) = try PixelBridge.split(image)
        let translated: VImage
        var context = context
        if let seed { context.seed = seed }
        // The engine keeps a run's freed activations for its next pass; the stages after this one need none.
        defer { EngineMemory.releaseCachedBuffers() }
        do {
            translated = try precision.withEngine {
                if precision != .fp32 { context.logger.info("style: matrix products in \(precision)") }
                return try StyleRun(self, context: context).translate(colour, depth: depth)
            }
        } catch let error as StyleFilterError {
            throw error
        } catch let error as MatmulPrecisionError {
            throw StyleFilterError(.usage, "style: \(error)")
        } catch let error as DiffuseITError {
            throw StyleFilterError(.failure, error.description)
        } catch {
            // Engine errors (shapes, configs) become one-line failures.
            throw StyleFilterError(.failure, "style: \(error)")
        }
        let result = try PixelBridge.join(translated, alpha: alpha, depth: depth, metadataFrom: colour)
        return recordsProvenance ? try StyleProvenance(self, seed: context.seed).attach(to: result) : result
    }
}
