/// Differentiable operations on `Variable`s.
///
/// Every op computes its forward value with the engine's kernels and, when an input requires a
/// gradient, records a backward closure for the input gradients only. Weights are passed as plain
/// `Tensor`s: they are constants and never receive gradients.
public enum Ops {}

extension Tensor {
    /// Writable base address of a freshly created (uniquely owned) tensor.
    var mutablePointer: UnsafeMutablePointer<Float> { storage.pointer }
}

/// Row-major strides of a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}

/// Normalises a possibly negative axis.
func normalizedAxis(_ axis: Int, rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < rank, "axis \(axis) out of range for rank \(rank)")
    return a
}
