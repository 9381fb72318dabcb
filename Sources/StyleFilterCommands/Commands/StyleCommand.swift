import ArgumentParser
import Foundation
import StyleFilter

struct StyleCommand: StageCommand {
    static let configuration = CommandConfiguration(
        commandName: "style",
        abstract: "DiffuseIT translation guided by a style image or by text (source and target prompts).",
        discussion: """
            Image mode: --style-image PATH. Text mode: --prompt TEXT --source-prompt TEXT. Runs at the U-Net's \
            native size (256x256 for the official models) and maps back to the input's size; alpha is kept. \
            --seed (a global option) makes the output reproducible.

            Models are looked up by file name in --models-dir (here or before the command), \
            $STYLEFILTER_MODELS, then $XDG_CACHE_HOME/stylefilter/models (fetch them with 'stylefilter models \
            fetch'); --unet/--dino/--clip/--arcface name files directly. Missing weights exit with status 78.

            Faces mode (--faces, with either guide) uses the FFHQ U-Net (ffhq_10m.pt) and the ArcFace identity \
            network (model_ir_se50.pth), both from DiffuseIT's Google Drive links.

            Examples:
              stylefilter style --style-image ref.jpg < photo.jpg > out.png
              stylefilter style --prompt "black leopard" --source-prompt "lion" \\
                  < lion.jpg > out.png
              stylefilter resize --width 512 + style --style-image ref.png --preset fast \\
                  < in.jpg > out.png
              # full size, with the photo's own fine detail
              stylefilter style --mode detail --style-image ref.jpg < photo.jpg > out.png
              stylefilter thumbnail 256x256 --crop attention \\
                  + style --faces --prompt "old man" --source-prompt "man" \\
                  < face.jpg > out.png
              stylefilter thumbnail 2000 + style --style-image ref.jpg --dry-run \\
                  < photo.jpg
              stylefilter style --style-image ref.jpg --dry-run --size 4000x3000
            """)

    @Option(help: ArgumentHelp("Style image (image-guided mode).", valueName: "path"))
    var styleImage: String?

    @Option(help: ArgumentHelp("Target text (text-guided mode).", valueName: "text"))
    var prompt: String?

    @Option(help: ArgumentHelp("Text describing the source image (text-guided mode).", valueName: "text"))
    var sourcePrompt: String?

    @Option(help: "Settings: 'paper' (upstream README per mode, default) or 'fast' (half the steps, 5 resampling repeats, 4 CLIP views, CLIP ViT-B/32 only).")
    var preset: String = "paper"

    @Option(help: "Respaced diffusion steps N (timestep_respacing); without --skip the preset's start level is kept.")
    var steps: Int?

    @Option(help: "Respaced steps skipped at the noisy end (skip_timesteps).")
    var skip: Int?

    @Flag(help: "Deterministic DDIM sampling with condition_score (no resampling).")
    var ddim = false

    @Option(help: "Independent outputs; the chain continues with the first, all go to --iterations-dir.")
    var iterations: Int = 1

    @Option(help: ArgumentHelp("Directory for the outputs of --iterations (style_i_<n>.png).", valueName: "dir"))
    var iterationsDir: String?

    @Option(name: .customLong("param"), help: ArgumentHelp("Any upstream setting, e.g. lambda_ssim=500, use_colormatch=false (repeatable).", valueName: "name=value"))
    var params: [String] = []

    @Flag(help: "Resolve the models and print the plan of each mode (tiles, network passes, estimated time) for the image's size at this stage (read from its header) or --size; compute nothing.")
    var dryRun = false

    // Modes (tiled and detail: TiledStyle.swift in StyleFilter).
    @Option(help: "whole (resize to the model's 256x256 and back), tiled (full resolution as overlapping tiles fused every step) or detail (whole, upscaled, then a short tiled refinement).")
    var mode: String = "whole"

    @Option(help: "Minimum overlap of neighbouring tiles in pixels (tiled, detail; default an eighth of a tile: 32).")
    var overlap: Int?

    @Option(help: "Guided steps of the detail refinement.")
    var detailSteps: Int = 4

    @Option(help: "Noise level the detail refinement starts from, as a timestep of 1000.")
    var detailLevel: Int = 100

    @Option(help: ArgumentHelp("Write the current estimate to this file every --preview-every steps while the run works (replaced atomically; the format from the extension, at the output's size).", valueName: "file"))
    var preview: String?

    @Option(help: "Steps between previews (fused steps in the tiled modes).")
    var previewEvery: Int = 10

    @Option(help: ArgumentHelp("Write every step's estimate to this directory as frame_00001.png, ... (for a video).", valueName: "dir"))
    var frames: String?

    @Option(help: ArgumentHelp("Image size --dry-run plans for, instead of reading an input image.", valueName: "WxH"))
    var size: String?

    @Option(help: ArgumentHelp("Models directory.", valueName: "dir"))
    var modelsDir: String?

    @Option(help: ArgumentHelp("U-Net checkpoint file.", valueName: "file"))
    var unet: String?

    @Option(help: ArgumentHelp("DINO checkpoint file.", valueName: "file"))
    var dino: String?

    @Option(help: ArgumentHelp("CLIP checkpoint file (repeatable; replaces the ensemble).", valueName: "file"))
    var clip: [String] = []

    @Flag(help: "Faces mode (upstream --use_ffhq): the FFHQ 256x256 U-Net as the prior and the ArcFace identity loss (id_lambda, default 100); range restarts at 0.1.")
    var faces = false

    @Option(help: ArgumentHelp("ArcFace IR-SE-50 checkpoint file (faces mode).", valueName: "file"))
    var arcface: String?

    @Option(help: ArgumentHelp("CLIP ensemble by name (comma-separated: RN50, RN50x4, ViT-B/32, RN50x16, ViT-B/16).", valueName: "names"))
    var clipModels: String?

    @Option(help: ArgumentHelp("Matrix products in fp32 (default; matches the upstream code) or bf16 (faster on CPUs with AVX512-BF16 or AMX; results differ slightly, a different CPU refuses it with status 64).", valueName: "fp32|bf16"))
    var precision: String?

    @Option(help: ArgumentHelp("Run again with the settings, seed and models recorded in an image 'style' wrote (its provenance); give the same source (and --style-image). Models are found as usual and must have the recorded SHA-256.", valueName: "file"))
    var replay: String?

    /// The settings of one run: from the options, or from a replayed image's record.
    struct Settings {
        var imageMode: Bool
        var parameters: DiffuseITParameters
        var preset: String?
        var mode: String
        var tiling = TilingOptions()
        var precision = StylePrecision.fp32
        var guide: StyleStage.Guide?
        var seed: UInt64?
        var record: StyleProvenance?
    }

    func settings() throws -> Settings {
        if let replay { return try replaySettings(replay) }
        let imageMode: Bool
        switch (styleImage, prompt, sourcePrompt) {
        case (.some, nil, nil): imageMode = true
        case (nil, .some, .some): imageMode = false
        default: throw ValidationError("give either --style-image PATH, or --prompt TEXT with --source-prompt TEXT")
        }
        guard var parameters = DiffuseITParameters.named(preset, imageMode: imageMode) else {
            throw ValidationError("unknown --preset '\(preset)' (known: \(DiffuseITParameters.presetNames.joined(separator: ", ")))")
        }
        if let steps {
            guard steps >= 2 else { throw ValidationError("--steps must be at least 2") }
            let n = Double(Int(parameters.timestepRespacing) ?? 100)
            parameters.timestepRespacing = String(steps)
            if skip == nil { parameters.skipTimesteps = Int((Double(parameters.skipTimesteps) * Double(steps) / n).rounded()) }
            parameters.diffIter = Int((Double(parameters.diffIter) * Double(steps) / n).rounded())
        }
        if let skip { parameters.skipTimesteps = skip }
        if ddim { parameters.ddim = true }
        if faces { parameters.useFFHQ = true }
        for item in params {
            guard let eq = item.firstIndex(of: "=") else { throw ValidationError("--param expects NAME=VALUE, got '\(item)'") }
            do {
                try parameters.set(String(item[..<eq]), String(item[item.index(after: eq)...]))
            } catch let error as DiffuseITError {
                throw ValidationError(error.description)
            }
        }
        var settings = Settings(imageMode: imageMode, parameters: parameters, preset: preset, mode: mode)
        settings.precision = try StyleStage.precision(named: precision ?? "fp32")
        settings.tiling.overlap = overlap
        settings.tiling.detailSteps = detailSteps
        settings.tiling.detailLevel = detailLevel
        settings.guide = imageMode ? .image(styleImage!) : .text(prompt: prompt!, source: sourcePrompt!)
        return settings
    }

    /// Everything from the record; only where the files are may be given.
    func replaySettings(_ file: String) throws -> Settings {
        let changed = prompt != nil || sourcePrompt != nil || preset != "paper" || steps != nil || skip != nil || ddim || !params.isEmpty
            || faces || mode != "whole" || overlap != nil || detailSteps != 4 || detailLevel != 100 || clipModels != nil || precision != nil
        if changed {
            throw ValidationError("--replay takes its settings from \(file); give only --style-image, model files and --models-dir")
        }
        let record = try StyleProvenance.read(.file(file))
        var parameters = try record.parameters
        parameters.useFFHQ = record.faces
        var settings = Settings(imageMode: record.styleImage != nil, parameters: parameters, preset: record.preset, mode: record.mode)
        if let t = record.tiling {
            settings.tiling.overlap = t["overlap"]
            settings.tiling.detailSteps = t["detail_steps"] ?? 4
            settings.tiling.detailLevel = t["detail_level"] ?? 100
        }
        if let source = record.sourcePrompt, let target = record.prompt {
            settings.guide = .text(prompt: target, source: source)
        } else if let styleImage {
            settings.guide = .image(styleImage)
        }
        settings.precision = try StyleStage.precision(named: record.precision ?? "fp32")
        settings.seed = record.seed
        settings.record = record
        return settings
    }


    func makeStage(globals: GlobalOptions) throws -> any Stage {
        let settings = try settings()
        let faces = settings.parameters.useFFHQ, imageMode = settings.imageMode
        if arcface != nil && !faces { throw ValidationError("--arcface belongs to faces mode: add --faces") }
        do { try settings.parameters.validateSchedule() } catch let error as DiffuseITError { throw ValidationError(error.description) }
        var clipFiles = clip
        if let record = settings.record, clipFiles.isEmpty {
            // The recorded ensemble, by file name in the models directory.
            let directory = try ModelsDirectory.resolve(option: modelsDir ?? globals.modelsDir, environment: try ModelEnvironment())
            clipFiles = record.models.filter { $0.role == "clip" }.map { (directory.path as NSString).appendingPathComponent($0.file) }
        }
        let ensemble = clipModels.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            ?? (settings.preset == "fast" ? ["ViT-B/32"] : StyleModelFiles.defaultEnsemble)
        // A dry run plans with the files that are there and the catalogue's architectures for the rest.
        let (files, missing) = try StyleModelFiles.locate(
            imageMode: imageMode, faces: faces, unet: unet, dino: dino, clip: clipFiles, clipModels: ensemble, arcface: arcface,
            modelsDirectory: modelsDir ?? globals.modelsDir)
        if !missing.isEmpty && !dryRun {
            throw StyleFilterError(.modelNotUsable, "style: missing model weights: " + missing.joined(separator: "; "))
        }
        try files.validate(skippingMissing: dryRun)
        if let record = settings.record {
            if case .image(let path)? = settings.guide { try record.check(files, styleImage: path) } else { try record.check(files, styleImage: nil) }
        }
        guard let styleMode = StyleMode(rawValue: settings.mode) else {
            throw ValidationError("unknown --mode '\(settings.mode)' (known: \(StyleMode.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let tiling = settings.tiling
        if styleMode != .whole || size != nil {
            do { try tiling.validate(tileSize: try files.unetImageSize()) } catch let error as DiffuseITError { throw ValidationError(error.description) }
        }
        if dryRun {
            var plan = StylePlan(imageMode: imageMode, parameters: settings.parameters, models: files, iterations: iterations)
            plan.missing = missing
            plan.precision = settings.precision
            let tile = try files.unetImageSize()
            guard let size else {
                // The size comes from the image at this point of the chain (headers only).
                return StylePlanStage(plan: plan, tileSize: tile, tiling: tiling)
            }
            let (w, h) = try Geometry.parseFullSize(size)
            throw CleanExit.message(plan.description + "\n" + TiledPlan(plan: plan, width: w, height: h, tileSize: tile, tiling: tiling).description)
        }
        guard let guide = settings.guide else { throw ValidationError("give --style-image for an image-guided replay") }
        var stage = try StyleStage(guide: guide, parameters: settings.parameters, models: files, iterations: iterations, iterationsDirectory: iterationsDir)
        stage.mode = styleMode
        stage.tiling = tiling
        stage.preset = settings.preset
        stage.seed = settings.seed
        stage.precision = settings.precision
        stage.preview = StylePreview(file: preview, every: previewEvery, framesDirectory: frames)
        try stage.preview.validate()
        return stage
    }
}
