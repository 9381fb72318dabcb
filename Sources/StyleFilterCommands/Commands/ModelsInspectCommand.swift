import ArgumentParser
import Foundation
import StyleFilter

struct ModelsInspectCommand: ModelsSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a checkpoint's format, tensors, dtypes, shapes and recognised architecture (reads headers only).",
        discussion: """
            Tensors whose names differ only in a block number are summarised on one line; --all lists each one.

            Examples:
              stylefilter models inspect dino_vitbase8_pretrain.pth
              stylefilter models inspect --all ViT-B-32.pt | grep visual.conv1
              stylefilter models inspect --json weights.safetensors
            """)

    @Argument(help: ArgumentHelp("A safetensors, torch.save zip or TorchScript file.", valueName: "file"))
    var file: String

    @Flag(help: "List every tensor instead of a summary.")
    var all = false

    @Flag(help: "Print JSON.")
    var json = false

    struct Report: Codable {
        var path: String
        var bytes: Int64
        var format: String
        var tensorCount: Int
        var parameterCount: Int
        var dtypes: [String: Int]
        var architecture: Architecture?
        var groups: [CheckpointSummary.Group]?
        var tensors: [CheckpointSummary.TensorInfo]?
    }

    struct Architecture: Codable {
        var family: String
        var variant: String?
        var identifier: String
        var config: [String: String]
    }

    func execute(_ context: ModelsContext) throws {
        let summary = try CheckpointSummary.read(file)
        let architecture = summary.architecture
        if json {
            let report = Report(
                path: summary.path, bytes: summary.fileBytes, format: summary.format, tensorCount: summary.tensors.count,
                parameterCount: summary.parameterCount,
                dtypes: Dictionary(uniqueKeysWithValues: summary.dtypeCounts.map { ($0.dtype, $0.count) }),
                architecture: architecture.map {
                    Architecture(
                        family: $0.family, variant: $0.variant, identifier: $0.identifier,
                        config: Dictionary(uniqueKeysWithValues: $0.config.map { ($0.name, $0.value.description) }))
                },
                groups: all ? nil : summary.groups, tensors: all ? summary.tensors : nil)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Console.writeOutput(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
            return
        }
        var text = "file: \(summary.path) (\(ByteCount.format(summary.fileBytes)))\n"
        text += "format: \(summary.format)\n"
        text += "tensors: \(summary.tensors.count) (\(Self.grouped(summary.parameterCount)) parameters)\n"
        text += "dtypes: " + summary.dtypeCounts.map { "\($0.dtype) \($0.count)" }.joined(separator: ", ") + "\n"
        if let architecture {
            var line = "architecture: \(architecture.family)"
            if let variant = architecture.variant { line += " \(variant)" }
            if ModelCatalog.entry(named: architecture.identifier) != nil { line += " (model '\(architecture.identifier)')" }
            text += line + "\n"
            text += "config: " + architecture.config.map { "\($0.name) \($0.value)" }.joined(separator: ", ") + "\n"
        } else {
            text += "architecture: not recognised (known: ADM U-Net, DINO ViT, CLIP ViT/ResNet, ArcFace IR)\n"
        }
        if all {
            text += "tensors:\n"
            for tensor in summary.tensors { text += "  \(tensor.name)  \(tensor.dtype)  \(tensor.shape)\n" }
        } else {
            text += "shapes (tensors differing only in a block number share a line; --all lists each):\n"
            for group in summary.groups {
                var shapes = group.shapes.prefix(3).map { "\($0)" }.joined(separator: " ")
                if group.shapes.count > 3 { shapes += " +\(group.shapes.count - 3) more" }
                let count = group.count > 1 ? " x\(group.count)" : ""
                text += "  \(group.pattern)\(count)  \(group.dtypes.joined(separator: "/"))  \(shapes)\n"
            }
        }
        Console.writeOutput(text)
    }

    /// 552814086 -> "552,814,086".
    static func grouped(_ value: Int) -> String {
        let digits = Array(String(value))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { text += "," }
            text.append(digit)
        }
        return text
    }
}
