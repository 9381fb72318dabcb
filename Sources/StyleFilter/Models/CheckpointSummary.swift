import Engine
import Foundation

/// What `models inspect` shows of a checkpoint: container format, tensor count, dtypes, shapes grouped by
/// repeating block, and the recognised architecture. Reads only headers, never tensor data.
package struct CheckpointSummary: Sendable {
    /// One tensor's name, stored dtype and shape.
    package struct TensorInfo: Sendable, Codable, Equatable {
        package let name: String
        package let dtype: String
        package let shape: [Int]
    }

    /// Tensors whose names differ only in their first numeric component (`blocks.*.attn.qkv.weight`).
    package struct Group: Sendable, Codable, Equatable {
        package let pattern: String
        package let count: Int
        /// Distinct shapes, in first-seen order.
        package let shapes: [[Int]]
        package let dtypes: [String]
    }

    package let path: String
    package let fileBytes: Int64
    /// "safetensors", "torch.save zip", "TorchScript zip" or "legacy torch.save".
    package let format: String
    package let tensors: [TensorInfo]
    package let parameterCount: Int
    /// Tensor count per stored dtype, most frequent first.
    package let dtypeCounts: [(dtype: String, count: Int)]
    package let groups: [Group]
    package let architecture: RecognisedArchitecture?

    /// Opens `path` with the Engine's checkpoint readers; errors are ``StyleFilterError`` (66 missing, 65 not a checkpoint).
    package static func read(_ path: String) throws -> CheckpointSummary {
        guard let info = AtomicFile.fileInfo(path) else {
            throw StyleFilterError(.missingInput, "cannot inspect '\(path)': no such file")
        }
        let archive: any TensorArchive
        do {
            archive = try Checkpoint.open(path)
        } catch let error as CheckpointError {
            switch error {
            case .unreadable: throw StyleFilterError(.missingInput, error.description)
            default: throw StyleFilterError(.badInput, error.description)
            }
        }
        let format: String
        switch archive {
        case let zip as TorchZipArchive: format = zip.isTorchScript ? "TorchScript zip" : "torch.save zip"
        case is LegacyTorchArchive: format = "legacy torch.save"
        default: format = "safetensors"
        }
        let tensors = archive.tensorNames.map { name in
            TensorInfo(name: name, dtype: archive.dtype(of: name)?.rawValue ?? "?", shape: archive.shape(of: name) ?? [])
        }
        var counts: [String: Int] = [:]
        for tensor in tensors { counts[tensor.dtype, default: 0] += 1 }
        let dtypeCounts = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
        return CheckpointSummary(
            path: path, fileBytes: info.size, format: format, tensors: tensors,
            parameterCount: Self.parameterCount(archive), dtypeCounts: dtypeCounts,
            groups: group(tensors), architecture: ArchitectureRecognition.recognise(archive))
    }

    /// Groups tensors by name with the first numeric component replaced by `*`, in first-seen order.
    static func group(_ tensors: [TensorInfo]) -> [Group] {
        var order: [String] = []
        var members: [String: [TensorInfo]] = [:]
        for tensor in tensors {
            var parts = tensor.name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            if let index = parts.firstIndex(where: { !$0.isEmpty && $0.allSatisfy(\.isNumber) }) { parts[index] = "*" }
            let pattern = parts.joined(separator: ".")
            if members[pattern] == nil { order.append(pattern) }
            members[pattern, default: []].append(tensor)
        }
        return order.map { pattern in
            let list = members[pattern]!
            var shapes: [[Int]] = []
            var dtypes: [String] = []
            for tensor in list {
                if !shapes.contains(tensor.shape) { shapes.append(tensor.shape) }
                if !dtypes.contains(tensor.dtype) { dtypes.append(tensor.dtype) }
            }
            return Group(pattern: pattern, count: list.count, shapes: shapes, dtypes: dtypes)
        }
    }

    /// Parameters in all floating-point tensors (integer buffers such as BatchNorm counters excluded),
    /// saturating at `Int.max`: the shapes come from the file.
    static func parameterCount(_ archive: any TensorArchive) -> Int {
        var total = 0
        for name in archive.tensorNames where archive.dtype(of: name)?.isFloatingPoint ?? true {
            var count = 1
            for side in archive.shape(of: name) ?? [0] {
                let (product, overflow) = count.multipliedReportingOverflow(by: max(side, 0))
                count = overflow ? .max : product
            }
            let (sum, overflow) = total.addingReportingOverflow(count)
            total = overflow ? .max : sum
        }
        return total
    }
}
