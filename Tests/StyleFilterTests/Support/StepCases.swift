import Engine
import Foundation

/// One guided-step case of a `diffuseit_steps` manifest entry.
struct StepCase: Sendable, CustomStringConvertible {
    let file: String
    let name: String
    let configJSON: Data
    let caseJSON: Data

    var description: String { "\(file):\(name)" }

    var entry: [String: Any] { (try? JSONSerialization.jsonObject(with: caseJSON) as? [String: Any]) ?? [:] }
    var config: [String: Any] { (try? JSONSerialization.jsonObject(with: configJSON) as? [String: Any]) ?? [:] }
    var isTextMode: Bool { entry["mode"] as? String == "text" }

    func tensor(_ suffix: String) throws -> Tensor { try Fixtures.tensor(file, "\(name)_\(suffix)") }
    func has(_ suffix: String) -> Bool { Fixtures.has(file, "\(name)_\(suffix)") }

    /// Every case of every `diffuseit_steps` entry.
    static let all: [StepCase] = Fixtures.entries(kind: "diffuseit_steps").flatMap { entry -> [StepCase] in
        guard let file = entry["file"] as? String, let cases = entry["cases"] as? [String: Any],
            let config = entry["case"] as? [String: Any], let configJSON = try? JSONSerialization.data(withJSONObject: config)
        else { return [] }
        return cases.keys.sorted().compactMap { name in
            guard let c = cases[name], let data = try? JSONSerialization.data(withJSONObject: c) else { return nil }
            return StepCase(file: file, name: name, configJSON: configJSON, caseJSON: data)
        }
    }

    static var textCases: [StepCase] { all.filter(\.isTextMode) }

    /// The injected CLIP views of the case (text mode).
    func augmentations() throws -> [CLIPAugmentationParameters] {
        let angles = try FixtureScalars.requiredDoubles(file: file, name: "\(name)_aug_angle_f64")
        let crops = try FixtureScalars.integers(file: file, name: "\(name)_aug_crop")
        let flips = try FixtureScalars.integers(file: file, name: "\(name)_aug_flip")
        return angles.indices.map { v in
            CLIPAugmentationParameters(angle: angles[v], crop: (crops[4 * v], crops[4 * v + 1], crops[4 * v + 2], crops[4 * v + 3]), flip: flips[v] == 1)
        }
    }
}

/// A plain copy of the stored augmentation parameters.
struct CLIPAugmentationParameters {
    let angle: Double
    let crop: (Int, Int, Int, Int)
    let flip: Bool
}
