import Engine
import Foundation

/// The weight files a `style` run uses and how they are found: an explicit path (`--unet`, `--dino`,
/// `--clip`, `--arcface`), else the official file name in the models directory (`--models-dir`, then
/// `$STYLEFILTER_MODELS`, then the XDG cache; see ``ModelsDirectory``). Architectures come from the
/// tensor shapes, or from `<file stem>.json` beside the file (U-Net: guided-diffusion's
/// `model_config` keys; DINO: `num_heads`, `global_patch_size`; CLIP: `vision_heads`,
/// `transformer_heads`).
public struct StyleModelFiles: Sendable, Equatable {
    public var unet: String
    public var dino: String
    /// CLIP ensemble members (text mode): display name and path.
    public var clip: [(name: String, path: String)]
    /// The ArcFace identity network (faces mode).
    public var arcface: String?

    public static func == (a: Self, b: Self) -> Bool {
        a.unet == b.unet && a.dino == b.dino && a.clip.map(\.name) == b.clip.map(\.name) && a.clip.map(\.path) == b.clip.map(\.path)
            && a.arcface == b.arcface
    }

    /// DiffuseIT's default CLIP ensemble (upstream `--clip_models`), by catalogue file name.
    public static let defaultEnsemble = ["RN50", "RN50x4", "ViT-B/32", "RN50x16", "ViT-B/16"]

    /// Resolves every file; throws `StyleFilterError(.modelNotUsable)` (exit 78) naming each missing file, where it
    /// was looked for and where to download it. `faces` takes the FFHQ U-Net as the default prior and adds
    /// the ArcFace identity network.
    public static func resolve(
        imageMode: Bool, faces: Bool = false, unet: String?, dino: String?, clip: [String], clipModels: [String], arcface: String? = nil,
        modelsDirectory option: String?, environment: ModelEnvironment? = nil
    ) throws -> StyleModelFiles {
        let (files, missing) = try locate(
            imageMode: imageMode, faces: faces, unet: unet, dino: dino, clip: clip, clipModels: clipModels, arcface: arcface,
            modelsDirectory: option, environment: environment)
        if !missing.isEmpty {
            throw StyleFilterError(.modelNotUsable, "style: missing model weights: " + missing.joined(separator: "; "))
        }
        return files
    }

    /// ``resolve(imageMode:faces:unet:dino:clip:clipModels:arcface:modelsDirectory:environment:)`` for a
    /// plan: the files where they are or would be, and a description of each one that is missing
    /// (a plan reads the catalogue's architectures for those).
    package static func locate(
        imageMode: Bool, faces: Bool = false, unet: String?, dino: String?, clip: [String], clipModels: [String], arcface: String? = nil,
        modelsDirectory option: String?, environment: ModelEnvironment? = nil
    ) throws -> (files: StyleModelFiles, missing: [String]) {
        var missing: [String] = []
        func locate(explicit: String?, entryName: String) throws -> String {
            let (path, absent) = try Self.locate(explicit: explicit, entryName: entryName, modelsDirectory: option, environment: environment)
            if let absent { missing.append(absent) }
            return path
        }
        let unetPath = try locate(explicit: unet, entryName: faces ? "adm-ffhq-256" : "adm-256-uncond")
        let dinoPath = try locate(explicit: dino, entryName: "dino-vitb8")
        var clipFiles: [(String, String)] = []
        if !imageMode {
            if !clip.isEmpty {
                for path in clip { clipFiles.append((URL(fileURLWithPath: path).lastPathComponent, try locate(explicit: path, entryName: ""))) }
            } else {
                for name in clipModels {
                    let entryName = "clip-" + name.lowercased().replacingOccurrences(of: "/", with: "").replacingOccurrences(of: "-", with: "")
                    guard ModelCatalog.entry(named: entryName) != nil else {
                        throw StyleFilterError(.usage, "style: unknown CLIP model '\(name)' (known: \(defaultEnsemble.joined(separator: ", ")))")
                    }
                    clipFiles.append((name, try locate(explicit: nil, entryName: entryName)))
                }
            }
        }
        let arcfacePath = faces ? try locate(explicit: arcface, entryName: "arcface-ir-se50") : nil
        return (StyleModelFiles(unet: unetPath, dino: dinoPath, clip: clipFiles, arcface: arcfacePath), missing)
    }

    /// One model file: `explicit`, else the catalogue entry's file in the models directory; with a
    /// description of where it was looked for and where to get it when it is not there.
    package static func locate(
        explicit: String?, entryName: String, modelsDirectory option: String?, environment: ModelEnvironment? = nil
    ) throws -> (path: String, missing: String?) {
        if let explicit {
            return (explicit, FileManager.default.isReadableFile(atPath: explicit) ? nil : "'\(explicit)' (given on the command line; not readable)")
        }
        guard let entry = ModelCatalog.entry(named: entryName) else { throw StyleFilterError(.usage, "unknown model '\(entryName)'") }
        let directory = try ModelsDirectory.resolve(option: option, environment: environment ?? ModelEnvironment())
        let path = directory.filePath(entry)
        guard !FileManager.default.isReadableFile(atPath: path) else { return (path, nil) }
        let from = entry.urls.first ?? entry.manualSource ?? "no public URL"
        return (path, "\(entry.fileName) (looked in \(directory.path) from \(directory.source.rawValue); download \(from) or run 'stylefilter models fetch \(entry.name)')")
    }

    /// The JSON object in `<stem>.json` beside `path`, if present.
    static func sidecar(_ path: String) throws -> [String: Any]? {
        let json = URL(fileURLWithPath: path).deletingPathExtension().appendingPathExtension("json")
        guard FileManager.default.fileExists(atPath: json.path) else { return nil }
        guard let data = try? Data(contentsOf: json), let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw StyleFilterError(.modelNotUsable, "style: cannot read the config \(json.path) (not a JSON object)")
        }
        return object
    }

    /// Runs `body`, turning any error into a one-line exit-78 error naming the file.
    static func loading<T>(_ what: String, _ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as StyleFilterError {
            throw error
        } catch {
            throw StyleFilterError(.modelNotUsable, "style: cannot load the \(what) weights '\(path)': \(error)")
        }
    }

    /// Opens every file and recognises its architecture (cheap: headers and shapes only), so a corrupt
    /// or foreign checkpoint fails with exit 78 before any image is read.
    public func validate() throws {
        try validate(skippingMissing: false)
    }

    /// ``validate()``; with `skippingMissing`, files that are not there are left out (a plan).
    package func validate(skippingMissing: Bool) throws {
        func present(_ path: String) -> Bool { !skippingMissing || FileManager.default.fileExists(atPath: path) }
        let unetSize = try unetImageSize()
        if present(dino) {
            let dinoSide = try StyleModelFiles.sidecar(dino)
            _ = try StyleModelFiles.loading("DINO", dino) {
                try DINOConfig.recognise(WeightStore(try Checkpoint.open(dino)), heads: dinoSide?["num_heads"] as? Int)
            }
        }
        for member in clip where present(member.path) {
            let side = try StyleModelFiles.sidecar(member.path)
            _ = try StyleModelFiles.loading("CLIP", member.path) {
                try CLIPConfig.recognise(WeightStore(try Checkpoint.open(member.path)), visionHeads: side?["vision_heads"] as? Int,
                    textHeads: side?["transformer_heads"] as? Int)
            }
        }
        if let arcface {
            if present(arcface) {
                _ = try StyleModelFiles.loading("ArcFace", arcface) { try ArcFaceConfig.recognise(WeightStore(try Checkpoint.open(arcface))) }
            }
            // Upstream's identity crop is fixed in pixels of a 256x256 image.
            let crop = IdentityLoss.faceCrop
            guard unetSize >= crop.top + crop.height && unetSize >= crop.left + crop.width else {
                throw StyleFilterError(.modelNotUsable,
                    "style: faces mode needs a U-Net of at least 223x223 pixels for the identity crop; '\(unet)' is \(unetSize)x\(unetSize)")
            }
        }
    }

    /// The networks, loaded (memory-mapped where the format allows).
    func load() throws -> StyleNetworks {
        let unet = try StyleModelFiles.loading("U-Net", self.unet) {
            let archive = try Checkpoint.open(self.unet)
            return try UNetModel(config: UNetConfig.resolve(checkpointPath: self.unet, archive: archive), weights: WeightStore(archive))
        }
        let arcface = try self.arcface.map { path in
            try StyleModelFiles.loading("ArcFace", path) { try ArcFaceModel(weights: WeightStore(try Checkpoint.open(path))) }
        }
        return StyleNetworks(
            unet: unet, dino: try Self.loadDINO(dino), clip: try clip.map { try Self.loadCLIP(name: $0.name, path: $0.path) }, arcface: arcface)
    }

    /// A DINO checkpoint as the losses use it, with `num_heads` and `global_patch_size` from its sidecar.
    package static func loadDINO(_ path: String) throws -> DINOLosses {
        let side = try sidecar(path)
        let model = try loading("DINO", path) {
            let store = WeightStore(try Checkpoint.open(path))
            return try DINOVisionTransformer(weights: store, config: DINOConfig.recognise(store, heads: side?["num_heads"] as? Int))
        }
        return DINOLosses(model: model, globalPatchSize: side?["global_patch_size"] as? Int ?? 224)
    }

    /// A CLIP checkpoint under its ensemble name, with `vision_heads` and `transformer_heads` from its sidecar.
    package static func loadCLIP(name: String, path: String) throws -> NamedCLIPModel {
        let side = try sidecar(path)
        return try loading("CLIP", path) {
            let store = WeightStore(try Checkpoint.open(path))
            let config = try CLIPConfig.recognise(store, visionHeads: side?["vision_heads"] as? Int, textHeads: side?["transformer_heads"] as? Int)
            return NamedCLIPModel(name: name, model: try CLIPModel(weights: store, config: config))
        }
    }

    /// The U-Net's native image size (reads the checkpoint's header and shapes only; for an official
    /// file that is not there yet, its catalogue architecture's).
    public func unetImageSize() throws -> Int {
        if !FileManager.default.fileExists(atPath: unet),
            let entry = ModelCatalog.entries.first(where: { $0.fileName == URL(fileURLWithPath: unet).lastPathComponent }),
            let builtIn = UNetConfig.builtIn.first(where: { UNetShapeRecogniser.identifier(of: $0) == entry.architecture })
        {
            return builtIn.imageSize
        }
        return try StyleModelFiles.loading("U-Net", unet) {
            try UNetConfig.resolve(checkpointPath: unet, archive: try Checkpoint.open(unet)).imageSize
        }
    }
}

/// The networks of a style run, loaded.
struct StyleNetworks {
    let unet: UNetModel
    /// DINO as the losses use it (with its global patch size).
    let dino: DINOLosses
    /// Text mode's CLIP ensemble.
    let clip: [NamedCLIPModel]
    /// Faces mode's identity network.
    let arcface: ArcFaceModel?
}
