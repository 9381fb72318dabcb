import Engine

/// A value in a recognised configuration, named after the upstream constructor argument it corresponds to.
package enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int)
    case ints([Int])
    case bool(Bool)
    /// The argument is absent (`None` upstream), e.g. no class embedding.
    case none

    package var description: String {
        switch self {
        case .int(let value): return String(value)
        case .ints(let values): return "(" + values.map(String.init).joined(separator: ", ") + ")"
        case .bool(let value): return value ? "true" : "false"
        case .none: return "none"
        }
    }
}

/// What the tensors of a checkpoint say it is.
package struct RecognisedArchitecture: Sendable, Equatable {
    /// The network family, e.g. "ADM U-Net", "DINO ViT", "CLIP ViT", "ArcFace IR".
    package var family: String
    /// The published variant when the configuration is a known one, e.g. "ViT-B/8".
    package var variant: String?
    /// The catalogue name when the configuration is a known one (``ModelEntry/name``), else a generic
    /// family id such as `dino-vit`.
    package var identifier: String
    /// Key configuration numbers, named as upstream's constructor arguments, in display order.
    package var config: [(name: String, value: ConfigValue)]

    package static func == (lhs: RecognisedArchitecture, rhs: RecognisedArchitecture) -> Bool {
        lhs.family == rhs.family && lhs.variant == rhs.variant && lhs.identifier == rhs.identifier
            && lhs.config.map(\.name) == rhs.config.map(\.name) && lhs.config.map(\.value) == rhs.config.map(\.value)
    }

    /// The value of one configuration entry.
    package func value(_ name: String) -> ConfigValue? { config.first { $0.name == name }?.value }
}

/// Recognises one network family from tensor names and shapes alone (no tensor data is read), by
/// presenting what the Engine's own recognisers read.
protocol ArchitectureRecogniser: Sendable {
    func recognise(_ archive: any TensorArchive) -> RecognisedArchitecture?
}

/// The recognisers `models inspect` and `models import` try, in order: a new network is one more entry.
enum ArchitectureRecognition {
    static let recognisers: [any ArchitectureRecogniser] = [
        UNetShapeRecogniser(), DINOShapeRecogniser(), CLIPShapeRecogniser(), ArcFaceShapeRecogniser(),
    ]

    /// The first recogniser's answer, or nil when no family fits.
    static func recognise(_ archive: any TensorArchive) -> RecognisedArchitecture? {
        for recogniser in recognisers {
            if let found = recogniser.recognise(archive) { return found }
        }
        return nil
    }
}
