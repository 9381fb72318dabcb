import Foundation
import VipsBridge

/// What made a translated image, carried in the image itself: the stylefilter version, the seed, the
/// preset, the mode, the guide (the prompt texts, or the style image's SHA-256), every setting that
/// differs from the preset, and each model's file name and SHA-256. Nothing of the time or the
/// machine, so the same run writes the same bytes.
///
/// It travels as XMP (PNG, JPEG, WebP, TIFF, HEIF/AVIF: whatever libvips writes XMP for; merged into
/// the input's own XMP) and, for PNG, also as a text chunk `stylefilter`, which image viewers show.
/// `--strip` drops it with the other metadata. `stylefilter info` shows it; `style --replay` runs it again.
public struct StyleProvenance: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        /// What the file is: `unet`, `dino`, `clip`, `arcface`, `style-image`.
        public var role: String
        /// The file's name (no directory).
        public var file: String
        public var sha256: String
    }

    public var stylefilter: String
    public var seed: UInt64
    /// The preset the settings start from (`paper`, `fast`), nil for library defaults.
    public var preset: String?
    public var mode: String
    /// Text mode's target and source texts.
    public var prompt: String?, sourcePrompt: String?
    /// Image mode's style image.
    public var styleImage: File?
    public var faces: Bool
    public var ddim: Bool
    /// Settings that differ from the preset, by upstream name.
    public var params: [String: String]
    /// The tiled and detail modes' settings (overlap, detail_steps, detail_level).
    public var tiling: [String: Int]?
    /// The matrix products' precision when not fp32 (`bf16`): the same seed gives the same bytes only in it.
    public var precision: String?
    public var models: [File]

    enum CodingKeys: String, CodingKey {
        case stylefilter, seed, preset, mode, prompt, sourcePrompt = "source_prompt", styleImage = "style_image", faces, ddim, params, tiling,
            precision, models
    }

    /// The record of `stage` run with `seed` (hashes every model file and the style image).
    init(_ stage: StyleStage, seed: UInt64) throws {
        stylefilter = Runtime.version
        self.seed = seed
        preset = stage.preset
        mode = stage.mode.rawValue
        func record(_ role: String, _ path: String) throws -> File {
            let hash = try FileDigest.sha256(ofFileAt: path).hex
            return File(role: role, file: URL(fileURLWithPath: path).lastPathComponent, sha256: hash)
        }
        switch stage.guide {
        case .image(let path): styleImage = try record("style-image", path)
        case .text(let target, let source): (prompt, sourcePrompt) = (target, source)
        }
        let p = stage.parameters
        faces = p.useFFHQ
        ddim = p.ddim
        let imageMode = styleImage != nil
        params = p.changes(from: stage.preset.flatMap { DiffuseITParameters.named($0, imageMode: imageMode) } ?? DiffuseITParameters())
        if stage.mode != .whole {
            var t = ["detail_steps": stage.tiling.detailSteps, "detail_level": stage.tiling.detailLevel]
            if let overlap = stage.tiling.overlap { t["overlap"] = overlap }
            tiling = t
        }
        precision = stage.precision == .fp32 ? nil : stage.precision.rawValue
        let m = stage.models
        models = try [record("unet", m.unet), record("dino", m.dino)] + m.clip.map { try record("clip", $0.path) }
            + (m.arcface.map { [try record("arcface", $0)] } ?? [])
    }

    /// The settings the record describes, for a replay.
    public var parameters: DiffuseITParameters {
        get throws {
            var p = preset.flatMap { DiffuseITParameters.named($0, imageMode: styleImage != nil) } ?? DiffuseITParameters()
            p.useFFHQ = faces
            p.ddim = ddim
            for (name, value) in params.sorted(by: { $0.key < $1.key }) { try p.set(name, value) }
            return p
        }
    }

    /// Checks that `models` and `styleImage` are the files the record was made with (by SHA-256):
    /// exit 78 naming a model that differs, 64 for another style image.
    public func check(_ models: StyleModelFiles, styleImage path: String?) throws {
        if let expected = styleImage {
            guard let path else { throw StyleFilterError(.usage, "style --replay: the image was made with the style image \(expected.file); give it with --style-image") }
            let hash = try FileDigest.sha256(ofFileAt: path).hex
            guard hash == expected.sha256 else {
                throw StyleFilterError(.usage, "style --replay: '\(path)' (sha256 \(hash)) is not the style image \(expected.file) the image was made with (sha256 \(expected.sha256))")
            }
        }
        let files = [("unet", models.unet), ("dino", models.dino)] + models.clip.map { ("clip", $0.path) } + (models.arcface.map { [("arcface", $0)] } ?? [])
        guard files.map(\.0) == self.models.map(\.role) else {
            throw StyleFilterError(.usage, "style --replay: the image was made with \(self.models.map { "\($0.role) \($0.file)" }.joined(separator: ", ")); these settings give \(files.map { "\($0.0) \(URL(fileURLWithPath: $0.1).lastPathComponent)" }.joined(separator: ", "))")
        }
        for ((role, path), expected) in zip(files, self.models) {
            let hash = try FileDigest.sha256(ofFileAt: path).hex
            guard hash == expected.sha256 else {
                throw StyleFilterError(.modelNotUsable, "style --replay: the \(role) '\(path)' has sha256 \(hash); the image was made with \(expected.file), sha256 \(expected.sha256)")
            }
        }
    }

    // MARK: In the image

    static let pngKey = "stylefilter"
    private static let xmpNamespace = "urn:stylefilter:provenance:1"

    /// One line of JSON, keys sorted.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// `image` carrying the record (a previous record is replaced).
    func attach(to image: VImage) throws -> VImage {
        let xmp = Self.xmp(merging: json, into: image.blob("xmp-data").map { String(decoding: $0, as: UTF8.self) })
        let comments = image.fieldNames.filter { $0.hasPrefix("png-comment-") }
        let ours = comments.filter { $0.hasSuffix("-" + Self.pngKey) }
        // libvips names PNG text chunks png-comment-<index>-<key>; take the first free index.
        let used = Set(comments.compactMap { Int($0.dropFirst("png-comment-".count).split(separator: "-").first ?? "") })
        let index = (0...).first { !used.contains($0) } ?? 0
        return try wrap(.failure, "style: provenance") { () throws(VipsError) in
            try image.editingMetadata { editor in
                for name in ours { editor.remove(name) }
                editor.set("png-comment-\(index)-\(Self.pngKey)", string: json)
                editor.set("xmp-data", blob: Array(xmp.utf8))
            }
        }
    }

    /// The record an image carries, or nil.
    public static func read(from image: VImage) -> StyleProvenance? {
        var candidates: [String] = []
        if let xmp = image.blob("xmp-data").map({ String(decoding: $0, as: UTF8.self) }), let json = extract(fromXMP: xmp) { candidates.append(json) }
        candidates += image.fieldNames.filter { $0.hasPrefix("png-comment-") && $0.hasSuffix("-" + pngKey) }.compactMap { image.string($0) }
        for json in candidates {
            if let record = try? JSONDecoder().decode(StyleProvenance.self, from: Data(json.utf8)) { return record }
        }
        return nil
    }

    /// The record in the image `input`, read from its header (nothing is decoded); a bad-input error
    /// when the image carries none.
    public static func read(_ input: ImageInput, failOn: FailOn = .truncated) throws -> StyleProvenance {
        let source = try input.openSource()
        let image = try wrap(.badInput, "cannot read \(input.displayName)") { () throws(VipsError) in try Foreign.load(source, failOn: failOn) }
        guard let record = read(from: image) else {
            throw StyleFilterError(.badInput, "\(input.displayName) carries no stylefilter provenance (written by 'style' unless --strip)")
        }
        return record
    }

    // MARK: XMP

    private static let descriptionStart = "<rdf:Description rdf:about=\"\" xmlns:stylefilter=\"\(xmpNamespace)\">"
    private static let descriptionEnd = "</rdf:Description>"

    /// `existing` XMP with our description in place of a previous one, or a new packet.
    static func xmp(merging json: String, into existing: String?) -> String {
        let description = descriptionStart + "<stylefilter:run>" + escape(json) + "</stylefilter:run>" + descriptionEnd
        if var packet = existing, let end = packet.range(of: "</rdf:RDF>", options: .backwards) {
            if let start = packet.range(of: descriptionStart), let close = packet.range(of: descriptionEnd, range: start.upperBound..<packet.endIndex) {
                packet.replaceSubrange(start.lowerBound..<close.upperBound, with: description)
                return packet
            }
            packet.insert(contentsOf: description, at: end.lowerBound)
            return packet
        }
        return "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?><x:xmpmeta xmlns:x=\"adobe:ns:meta/\">"
            + "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">" + description + "</rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    }

    static func extract(fromXMP xmp: String) -> String? {
        guard let start = xmp.range(of: "<stylefilter:run>"), let end = xmp.range(of: "</stylefilter:run>", range: start.upperBound..<xmp.endIndex) else {
            return nil
        }
        return unescape(String(xmp[start.upperBound..<end.lowerBound]))
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func unescape(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}
