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

/// Recognises one network family from tensor names and shapes alone (no tensor data is read).
protocol ArchitectureRecogniser: Sendable {
    func recognise(_ tensors: TensorIndex) -> RecognisedArchitecture?
}

/// The recognisers `models inspect` and `models import` try, in order. Kept as a list so a new network
/// is one more entry; when the network types carry their own `recognise` functions (the U-Net, DINO and
/// CLIP configs in Engine), these shape-only recognisers can delegate to them.
enum ArchitectureRecognition {
    static let recognisers: [any ArchitectureRecogniser] = [
        UNetShapeRecogniser(), DINOShapeRecogniser(), CLIPShapeRecogniser(), ArcFaceShapeRecogniser(),
    ]

    /// The first recogniser's answer, or nil when no family fits.
    static func recognise(_ archive: any TensorArchive) -> RecognisedArchitecture? {
        let index = TensorIndex(archive)
        for recogniser in recognisers {
            if let found = recogniser.recognise(index) { return found }
        }
        return nil
    }
}

/// Tensor names and shapes of an archive, with the lookups recognisers need.
struct TensorIndex: Sendable {
    let names: [String]
    private let shapes: [String: [Int]]

    init(_ archive: any TensorArchive) {
        names = archive.tensorNames
        var shapes: [String: [Int]] = [:]
        for name in names { shapes[name] = archive.shape(of: name) }
        self.shapes = shapes
    }

    func shape(_ name: String) -> [Int]? { shapes[name] }

    func has(_ name: String) -> Bool { shapes[name] != nil }

    /// The distinct integer components that follow `prefix` (`blocks.` gives the block numbers), sorted.
    func indices(after prefix: String) -> [Int] {
        var found = Set<Int>()
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            if let component = rest.split(separator: ".", maxSplits: 1).first, let value = Int(component) { found.insert(value) }
        }
        return found.sorted()
    }

    /// Parameters in all floating-point tensors (integer buffers such as BatchNorm counters excluded).
    func parameterCount(_ archive: any TensorArchive) -> Int {
        names.reduce(0) { total, name in
            guard archive.dtype(of: name)?.isFloatingPoint ?? true else { return total }
            return total + (shapes[name]?.reduce(1, *) ?? 0)
        }
    }
}
