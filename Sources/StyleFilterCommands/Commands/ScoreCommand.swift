import ArgumentParser
import Foundation
import StyleFilter

/// `stylefilter score`: how well a translation keeps the source's structure and follows its guide.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Score a translated image against its source and its guide (style image or prompt).",
        discussion: """
            Prints the numbers structure-preserving translation is judged by, computed by the engine's own \\
            networks: the structure distance (DINO ViT-B/8 last-block key self-similarity of output and \\
            source, compared by mean squared difference, as Splice and DiffuseIT define it; 0 = same \\
            structure), the style distance to --style-image (mean squared difference of the DINO CLS \\
            tokens), the CLIP similarity to --prompt (cosine of image and text embeddings, CLIP ViT-B/32) \\
            and, with --source-prompt, the directional CLIP similarity; SSIM and PSNR to the source. The \\
            output is resized to the source's size first. Models are found as 'style' finds them; --dino \\
            and --clip name files directly.

            Examples:
              stylefilter score --source photo.jpg --style-image ref.jpg < out.png
              stylefilter score out.png --source lion.jpg --prompt "black leopard" \\
                  --source-prompt "lion" --json
            """)

    @Argument(help: ArgumentHelp("The translated image ('-' or none: standard input, or -i).", valueName: "file"))
    var file: String?

    @Option(help: ArgumentHelp("The source image the translation started from.", valueName: "path"))
    var source: String

    @Option(help: ArgumentHelp("The style image (image-guided): adds the style distance.", valueName: "path"))
    var styleImage: String?

    @Option(help: ArgumentHelp("The target text (text-guided): adds the CLIP similarity.", valueName: "text"))
    var prompt: String?

    @Option(help: ArgumentHelp("The source text: adds the directional CLIP similarity.", valueName: "text"))
    var sourcePrompt: String?

    @Option(help: ArgumentHelp("DINO checkpoint file.", valueName: "file"))
    var dino: String?

    @Option(help: ArgumentHelp("CLIP checkpoint file (default: ViT-B-32.pt in the models directory).", valueName: "file"))
    var clip: String?

    @Option(help: ArgumentHelp("Models directory.", valueName: "dir"))
    var modelsDir: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if styleImage != nil && prompt != nil { throw ValidationError("give --style-image or --prompt, not both") }
        if sourcePrompt != nil && prompt == nil { throw ValidationError("--source-prompt goes with --prompt") }
    }

    func execute(globals: GlobalOptions, console: Console) throws {
        let input = ImageInput(argument: file ?? globals.input)
        if input == .standardInput && console.standardInputIsTerminal {
            throw StyleFilterError(.usage, "no input: standard input is a terminal; pipe the translated image in or name it")
        }
        var missing: [String] = []
        func locate(_ explicit: String?, _ entry: String) throws -> String {
            let (path, absent) = try StyleModelFiles.locate(explicit: explicit, entryName: entry, modelsDirectory: modelsDir ?? globals.modelsDir)
            if let absent { missing.append(absent) }
            return path
        }
        let dinoPath = try locate(dino, "dino-vitb8")
        let clipPath = prompt == nil ? nil : try locate(clip, "clip-vitb32")
        if !missing.isEmpty { throw StyleFilterError(.modelNotUsable, "score: missing model weights: " + missing.joined(separator: "; ")) }
        let scores = try TranslationScore.score(
            output: input, source: .file(source), styleImage: styleImage.map { .file($0) },
            prompt: prompt.map { ($0, sourcePrompt) }, dino: dinoPath, clip: clipPath, failOn: globals.failOn)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            Console.writeOutput(String(decoding: try encoder.encode(scores), as: UTF8.self) + "\n")
            return
        }
        func f(_ v: Double?, _ digits: Int = 4) -> String { v.map { String(format: "%.\(digits)f", $0) } ?? "-" }
        var lines = ["structure distance (DINO self-similarity, lower keeps more): \(f(scores.structureDistance, 5))"]
        if scores.styleDistance != nil { lines.append("style distance (DINO CLS to the style image, lower is closer): \(f(scores.styleDistance, 5))") }
        if scores.clipSimilarity != nil { lines.append("CLIP similarity to the prompt: \(f(scores.clipSimilarity))") }
        if scores.directionalCLIPSimilarity != nil { lines.append("directional CLIP similarity: \(f(scores.directionalCLIPSimilarity))") }
        lines.append("SSIM to the source: \(f(scores.ssim))")
        lines.append("PSNR to the source: " + (scores.psnr.map { String(format: "%.2f dB", $0) } ?? "inf (identical)"))
        Console.writeOutput(lines.joined(separator: "\n") + "\n")
    }
}
