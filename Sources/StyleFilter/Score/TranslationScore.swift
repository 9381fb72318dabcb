import Engine
import Foundation
import VipsBridge

/// The numbers the literature uses to judge a structure-preserving translation (Splice, DiffuseIT), for
/// `stylefilter score`: how much of the source's structure the output keeps, how close it is to the
/// style or the text, and its pixel similarity to the source. Computed by the engine's own networks.
package struct TranslationScore: Codable, Sendable, Equatable {
    /// DINO ViT last-block key self-similarity of output and source compared by mean squared difference
    /// (Splice's structure distance; DiffuseIT's self-similarity loss): 0 for the same structure.
    package var structureDistance: Double
    /// Mean squared difference of the DINO CLS tokens of output and style image (the CLS style loss).
    package var styleDistance: Double?
    /// Cosine of the output's CLIP image embedding and the prompt's text embedding.
    package var clipSimilarity: Double?
    /// Directional CLIP similarity: cosine of (output − source) image embeddings and (prompt − source
    /// prompt) text embeddings.
    package var directionalCLIPSimilarity: Double?
    /// Structural similarity to the source (1 for identical images).
    package var ssim: Double
    /// Peak signal-to-noise ratio to the source in dB; nil (infinite) for identical images.
    package var psnr: Double?

    enum CodingKeys: String, CodingKey {
        case structureDistance = "structure_distance", styleDistance = "style_distance", clipSimilarity = "clip_similarity"
        case directionalCLIPSimilarity = "directional_clip_similarity", ssim, psnr
    }

    /// What the output is compared with besides the source.
    package enum Reference {
        case styleImage(VImage)
        case text(prompt: String, sourcePrompt: String?)
    }

    /// Scores `output` against `source` (both any libvips image; the output is resized to the source's
    /// size first), with DINO `dino` and, for a text reference, CLIP `clip`.
    package init(output: VImage, source: VImage, reference: Reference?, dino: DINOLosses, clip: NamedCLIPModel?) throws {
        let src = try Self.rgb8(source, width: source.width, height: source.height)
        let out = try Self.rgb8(output, width: source.width, height: source.height)
        let (srcBytes, outBytes) = (try Self.bytes(src), try Self.bytes(out))
        ssim = ImageSimilarity.ssim(outBytes, srcBytes, width: source.width, height: source.height)
        psnr = ImageSimilarity.psnr(outBytes, srcBytes)
        let srcTensor = try StyleImages.tensor(src), outTensor = try StyleImages.tensor(out)
        structureDistance = try Self.structureDistance(outTensor, source: srcTensor, dino: dino)
        switch reference {
        case .styleImage(let image)?:
            let style = try StyleImages.tensor(try Self.rgb8(image, width: image.width, height: image.height))
            styleDistance = try Self.styleDistance(outTensor, style: style, dino: dino)
        case .text(let prompt, let sourcePrompt)?:
            guard let clip else { throw StyleFilterError(.usage, "score: a prompt needs a CLIP model") }
            let outEmbedding = try Self.imageEmbedding(clip, outTensor)
            let texts = try Self.textEmbeddings(clip, [prompt] + (sourcePrompt.map { [$0] } ?? []))
            clipSimilarity = Self.dot(outEmbedding, texts[0])
            if sourcePrompt != nil {
                let srcEmbedding = try Self.imageEmbedding(clip, srcTensor)
                directionalCLIPSimilarity = Self.cosine(zip(outEmbedding, srcEmbedding).map(-), zip(texts[0], texts[1]).map(-))
            }
        case nil:
            break
        }
    }

    /// The scores of the image `output` against `source` and a guide, with the DINO (and, for a prompt,
    /// CLIP) checkpoints at these paths; bad images are bad input (65), bad checkpoints exit 78.
    package static func score(
        output: ImageInput, source: ImageInput, styleImage: ImageInput?, prompt: (text: String, source: String?)?, dino: String, clip: String?,
        failOn: FailOn
    ) throws -> TranslationScore {
        func load(_ input: ImageInput) throws -> VImage {
            let source = try input.openSource()
            return try wrap(.badInput, "cannot read \(input.displayName)") { () throws(VipsError) in
                try Foreign.load(source, failOn: failOn, sequential: false).autorotate()
            }
        }
        let reference: Reference?
        if let styleImage { reference = .styleImage(try load(styleImage)) } else if let prompt { reference = .text(prompt: prompt.text, sourcePrompt: prompt.source) } else { reference = nil }
        let out = try load(output), src = try load(source)
        let dinoModel = try StyleModelFiles.loadDINO(dino)
        let clipModel = try clip.map { try StyleModelFiles.loadCLIP(name: "CLIP", path: $0) }
        do {
            return try TranslationScore(output: out, source: src, reference: reference, dino: dinoModel, clip: clipModel)
        } catch let error as StyleFilterError {
            throw error
        } catch {
            throw StyleFilterError(.failure, "score: \(error)")
        }
    }

    /// The structure distance of two `[1, 3, H, W]` images in [−1, 1]: DiffuseIT's self-similarity loss.
    static func structureDistance(_ output: Tensor, source: Tensor, dino: DINOLosses) throws -> Double {
        let features = try dino.features(Variable(output))
        return Double(dino.structureTerms(features, source: try dino.reference(source), previousCLS: nil).selfSimilarity.value.scalars[0])
    }

    /// The style distance of two images in [−1, 1]: DiffuseIT's CLS style loss.
    static func styleDistance(_ output: Tensor, style: Tensor, dino: DINOLosses) throws -> Double {
        Double(dino.styleTerm(try dino.features(Variable(output)), styleCLS: try dino.reference(style).cls).value.scalars[0])
    }

    /// Colour bands as 8-bit sRGB at `width x height` (Lanczos when the size differs).
    static func rgb8(_ image: VImage, width: Int, height: Int) throws -> VImage {
        let colour = try PixelBridge.split(image).colour
        return try StyleImages.eightBit(try StyleImages.resized(colour, width: width, height: height)).copyMemory()
    }

    static func bytes(_ image: VImage) throws -> [UInt8] {
        try wrap(.badInput, "score: image") { () throws(VipsError) in try image.pixelBytes() }
    }

    /// The unit CLIP embedding of a [−1, 1] image (CLIP's test preprocessing: shorter side, centre crop).
    static func imageEmbedding(_ clip: NamedCLIPModel, _ image: Tensor) throws -> [Float] {
        let unit = Ops.add(Ops.scale(Variable(image), 0.5), Variable(Tensor(shape: [1], repeating: 0.5)))
        return Ops.l2Normalize(try clip.encodeImage(CLIPPreprocessing.prepare(unit, resolution: clip.imageResolution))).value.scalars
    }

    /// Unit text embeddings of plain texts (no prompt templates).
    static func textEmbeddings(_ clip: NamedCLIPModel, _ texts: [String]) throws -> [[Float]] {
        let e = Ops.l2Normalize(Variable(try clip.encodeText(try CLIPTokenizer.shared.tokenize(texts, truncate: true)))).value
        let width = e.shape[1]
        return (0..<texts.count).map { Array(e.scalars[($0 * width)..<(($0 + 1) * width)]) }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double { zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) } }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double? {
        let n = dot(a, a).squareRoot() * dot(b, b).squareRoot()
        return n > 0 ? dot(a, b) / n : nil
    }
}
