@testable import Engine

/// Named tensors held in memory, for building small synthetic checkpoints in tests.
struct InMemoryArchive: TensorArchive {
    let entries: [(name: String, tensor: Tensor)]
    var tensorNames: [String] { entries.map(\.name) }
    func shape(of name: String) -> [Int]? { entries.first { $0.name == name }?.tensor.shape }
    func tensor(named name: String) throws -> Tensor {
        guard let t = entries.first(where: { $0.name == name })?.tensor else { throw CheckpointError.missingTensor(name: name) }
        return t
    }
}
