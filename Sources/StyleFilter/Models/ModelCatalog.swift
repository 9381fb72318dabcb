/// What a run is doing, which decides the pretrained networks it needs.
public enum ModelMode: String, Sendable, CaseIterable, Codable {
    /// Text-guided translation: diffusion prior, DINO structure features, the CLIP ensemble.
    case text
    /// Image-guided translation (a style image): diffusion prior and DINO features; no CLIP.
    case image
    /// Face images (`--faces`): the FFHQ prior, ArcFace identity loss and DINO features.
    case faces
}

/// One pretrained checkpoint StyleFilter can use, as published upstream.
public struct ModelEntry: Sendable, Equatable {
    /// Short name used on the command line (`stylefilter models fetch dino-vitb8`).
    public let name: String
    /// What the network does in StyleFilter, in a few words.
    public let role: String
    /// The upstream file name; the file is stored under this name in the models directory.
    public let fileName: String
    /// Direct download URLs, official host first. Empty when upstream only offers a manual download.
    public let urls: [String]
    /// Where to download by hand when there is no direct URL (shown to the user), else nil.
    public let manualSource: String?
    /// Download size in bytes; approximate (from parameter counts or the upstream progress bar) until the
    /// first download pins the exact size.
    public let approximateBytes: Int64
    /// SHA-256 published upstream (CLIP puts it in the URL path), lower-case hex; nil when none is published.
    public let publishedSHA256: String?
    /// The modes that need this file; empty for optional alternatives fetched only by name.
    public let modes: Set<ModelMode>
    /// The container format upstream ships.
    public let format: String
    /// What the shape recognition must call the file (its identifier): a file
    /// without a published hash is only pinned when its tensors show this architecture.
    public let architecture: String

    public init(
        name: String, role: String, fileName: String, urls: [String], manualSource: String?, approximateBytes: Int64,
        publishedSHA256: String?, modes: Set<ModelMode>, format: String, architecture: String
    ) {
        self.name = name
        self.role = role
        self.fileName = fileName
        self.urls = urls
        self.manualSource = manualSource
        self.approximateBytes = approximateBytes
        self.publishedSHA256 = publishedSHA256?.lowercased()
        self.modes = modes
        self.format = format
        self.architecture = architecture
    }

    /// The path a mirror serves this file under: the official URL's path, or `/<name>/<file>` when
    /// upstream has no direct URL.
    package var mirrorPath: String {
        if let first = urls.first, let schemeEnd = first.range(of: "://"),
            let pathStart = first[schemeEnd.upperBound...].firstIndex(of: "/")
        {
            return String(first[pathStart...])
        }
        return "/\(name)/\(fileName)"
    }
}

/// Every model StyleFilter knows, compiled into the binary (facts from the upstream READMEs and code:
/// openai/guided-diffusion, cyclomon/DiffuseIT, facebookresearch/dino `hubconf.py`, openai/CLIP `clip.py`).
public enum ModelCatalog {
    private static let clipHost = "https://openaipublic.azureedge.net/clip/models"
    private static let dinoHost = "https://dl.fbaipublicfiles.com/dino"

    public static let entries: [ModelEntry] = [
        ModelEntry(
            name: "adm-256-uncond", role: "diffusion prior (ImageNet 256x256, unconditional ADM U-Net)",
            fileName: "256x256_diffusion_uncond.pt",
            urls: ["https://openaipublic.blob.core.windows.net/diffusion/jul-2021/256x256_diffusion_uncond.pt"],
            manualSource: nil, approximateBytes: 2_211_300_000, publishedSHA256: nil, modes: [.text, .image],
            format: "torch.save zip", architecture: "adm-256-uncond"),
        ModelEntry(
            name: "adm-ffhq-256", role: "diffusion prior for faces (FFHQ 256x256 ADM U-Net, ILVR)",
            fileName: "ffhq_10m.pt", urls: [],
            manualSource: "https://drive.google.com/file/d/1-oY7JjRtET4QP3PIWg3ilxAo4VfjCa3J (DiffuseIT README)",
            approximateBytes: 374_300_000, publishedSHA256: nil, modes: [.faces], format: "torch.save zip", architecture: "adm-ffhq-256"),
        ModelEntry(
            name: "dino-vitb8", role: "structure and style features (DINO ViT-B/8)",
            fileName: "dino_vitbase8_pretrain.pth",
            urls: ["\(dinoHost)/dino_vitbase8_pretrain/dino_vitbase8_pretrain.pth"],
            manualSource: nil, approximateBytes: 343_250_000, publishedSHA256: nil, modes: [.text, .image, .faces],
            format: "torch.save zip", architecture: "dino-vitb8"),
        ModelEntry(
            name: "dino-vits16", role: "alternative DINO features (ViT-S/16, optional)",
            fileName: "dino_deitsmall16_pretrain.pth",
            urls: ["\(dinoHost)/dino_deitsmall16_pretrain/dino_deitsmall16_pretrain.pth"],
            manualSource: nil, approximateBytes: 86_700_000, publishedSHA256: nil, modes: [], format: "torch.save zip", architecture: "dino-vits16"),
        ModelEntry(
            name: "dino-vits8", role: "alternative DINO features (ViT-S/8, optional)",
            fileName: "dino_deitsmall8_pretrain.pth",
            urls: ["\(dinoHost)/dino_deitsmall8_pretrain/dino_deitsmall8_pretrain.pth"],
            manualSource: nil, approximateBytes: 86_700_000, publishedSHA256: nil, modes: [], format: "torch.save zip", architecture: "dino-vits8"),
        ModelEntry(
            name: "dino-vitb16", role: "alternative DINO features (ViT-B/16, optional)",
            fileName: "dino_vitbase16_pretrain.pth",
            urls: ["\(dinoHost)/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth"],
            manualSource: nil, approximateBytes: 343_200_000, publishedSHA256: nil, modes: [], format: "torch.save zip", architecture: "dino-vitb16"),
        clip("RN50", sha: "afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762", bytes: 255_900_000),
        clip("RN50x4", sha: "7e526bd135e493cef0776de27d5f42653e6b4c8bf9e0f653bb11773263205fdd", bytes: 421_500_000),
        clip("ViT-B-32", sha: "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af", bytes: 354_400_000),
        clip("RN50x16", sha: "52378b407f34354e150460fe41077663dd5b39c54cd0bfd2b27167a4a06ec9aa", bytes: 660_600_000),
        clip("ViT-B-16", sha: "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f", bytes: 351_300_000),
        ModelEntry(
            name: "arcface-ir-se50", role: "face identity loss (ArcFace IR-SE50, InsightFace port used by pSp)",
            fileName: "model_ir_se50.pth", urls: [],
            manualSource: "https://drive.google.com/file/d/1SJa5qVNM6jGZdmsnUsGNhjtrssGYuJfT (DiffuseIT README)",
            approximateBytes: 175_400_000, publishedSHA256: nil, modes: [.faces], format: "torch.save", architecture: "arcface-ir-se50"),
    ]

    /// A CLIP entry: OpenAI's URL embeds the file's SHA-256 as its second-last path component.
    private static func clip(_ file: String, sha: String, bytes: Int64) -> ModelEntry {
        ModelEntry(
            name: "clip-" + file.lowercased().replacingOccurrences(of: "-", with: ""),
            role: "text guidance (OpenAI CLIP \(file.replacingOccurrences(of: "B-", with: "B/")), DiffuseIT's ensemble)",
            fileName: "\(file).pt", urls: ["\(clipHost)/\(sha)/\(file).pt"], manualSource: nil,
            approximateBytes: bytes, publishedSHA256: sha, modes: [.text], format: "TorchScript zip",
            architecture: "clip-" + file.lowercased().replacingOccurrences(of: "-", with: ""))
    }

    /// The entry called `name`, or nil.
    public static func entry(named name: String) -> ModelEntry? {
        entries.first { $0.name == name.lowercased() }
    }

    /// The entries `modes` need, in catalogue order.
    public static func entries(for modes: Set<ModelMode>) -> [ModelEntry] {
        entries.filter { !$0.modes.isDisjoint(with: modes) }
    }

    /// The entry whose published hash is `sha256`, or nil.
    public static func entry(publishedSHA256 sha256: String) -> ModelEntry? {
        entries.first { $0.publishedSHA256 == sha256.lowercased() }
    }
}
