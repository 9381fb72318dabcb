/// A reverse-mode autodiff tape.
///
/// Only values derived from a watched input are recorded; everything else (weights, timestep
/// embeddings, frozen features) is a constant and costs nothing. Each recorded op keeps a backward
/// closure that captures only what its input-gradient needs; `gradients(of:cotangent:wrt:)` runs
/// the closures in reverse order and drops each one (and the activations it holds) as soon as it
/// has run. A tape is used once: record a forward pass, then ask for gradients.
public final class Tape {
    /// Maps the gradient of a node's output to gradients of its inputs (nil where an input needs none).
    typealias Backward = (Tensor) -> [Tensor?]

    struct Node {
        var backward: Backward?
        /// Node ids of the op's inputs, `-1` for constants.
        let inputs: [Int]
        let shape: [Int]
    }

    var nodes: [Node] = []

    public init() {}

    /// A variable whose gradient can be asked for.
    public func watch(_ value: Tensor) -> Variable {
        nodes.append(Node(backward: nil, inputs: [], shape: value.shape))
        return Variable(value: value, tape: self, id: nodes.count - 1)
    }

    func record(_ value: Tensor, inputs: [Variable], backward: @escaping Backward) -> Variable {
        nodes.append(Node(backward: backward, inputs: inputs.map(\.id), shape: value.shape))
        return Variable(value: value, tape: self, id: nodes.count - 1)
    }

    /// Vector-Jacobian product: the gradients of `<output, cotangent>` with respect to `inputs`
    /// (watched variables of this tape). Consumes the tape: the recorded ops are released.
    public func gradients(of output: Variable, cotangent: Tensor, wrt inputs: [Variable]) -> [Tensor] {
        precondition(output.tape === self, "the output was not recorded on this tape")
        precondition(cotangent.shape == output.shape, "cotangent shape \(cotangent.shape) does not match output \(output.shape)")
        for input in inputs {
            precondition(input.tape === self && nodes[input.id].backward == nil && nodes[input.id].inputs.isEmpty,
                "gradients can only be taken with respect to watched inputs of this tape")
        }
        var grads = [Tensor?](repeating: nil, count: nodes.count)
        grads[output.id] = cotangent
        let keep = Set(inputs.map(\.id))
        var i = output.id
        while i >= 0 {
            defer { i -= 1 }
            guard let g = grads[i] else { nodes[i].backward = nil; continue }
            guard let backward = nodes[i].backward else { continue }
            nodes[i].backward = nil  // releases captured activations once this op is done
            if !keep.contains(i) { grads[i] = nil }
            let inputGrads = backward(g)
            let ids = nodes[i].inputs
            precondition(inputGrads.count == ids.count, "backward returned \(inputGrads.count) gradients for \(ids.count) inputs")
            for (id, ig) in zip(ids, inputGrads) where id >= 0 {
                guard let ig else { continue }
                precondition(ig.shape == nodes[id].shape, "gradient shape \(ig.shape) does not match input \(nodes[id].shape)")
                // Out of place: the gradient is often shared (an add passes one tensor to both
                // inputs), so an in-place add would first copy it.
                if let existing = grads[id] { grads[id] = Ops.mapTensors(existing, ig) { $0 + $1 } } else { grads[id] = ig }
            }
        }
        nodes.removeAll()
        return inputs.map { grads[$0.id] ?? Tensor.zeros($0.shape) }
    }
}

/// A tensor flowing through differentiable ops: a value plus, when it depends on a watched input,
/// its place on a tape. Constants (`Variable(tensor)`) are never recorded.
public struct Variable {
    /// The forward value.
    public let value: Tensor
    let tape: Tape?
    let id: Int

    /// A constant: no gradient flows into it.
    public init(_ value: Tensor) {
        self.value = value
        self.tape = nil
        self.id = -1
    }

    init(value: Tensor, tape: Tape, id: Int) {
        self.value = value
        self.tape = tape
        self.id = id
    }

    /// Whether gradients flow through this value.
    public var requiresGradient: Bool { id >= 0 }
    /// Shape of the value.
    public var shape: [Int] { value.shape }
    /// Number of dimensions of the value.
    public var rank: Int { value.rank }

    /// Builds an op's output: recorded on the inputs' tape when any input requires a gradient,
    /// a constant otherwise (the closure and its captures are then dropped at once).
    static func make(_ value: Tensor, _ inputs: [Variable], _ backward: @escaping Tape.Backward) -> Variable {
        var tape: Tape?
        for input in inputs where input.requiresGradient {
            if let t = tape { precondition(t === input.tape, "an op mixes variables of two tapes") } else { tape = input.tape }
        }
        guard let tape else { return Variable(value) }
        return tape.record(value, inputs: inputs, backward: backward)
    }
}

extension Tensor {
    /// Base address for kernels that only read.
    var readPointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
}
