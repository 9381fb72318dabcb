import Foundation
import Testing
@testable import Engine

/// Deterministic pseudo-random numbers for tests (SplitMix64 + Box-Muller).
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-300), u2 = uniform()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in normal() * scale })
    }
}

/// Checks an op's input gradients against central finite differences.
///
/// The scalar loss is `Σ f(inputs) · G` (G a fixed random cotangent), evaluated in double from the
/// float32 outputs. Every element of every input is perturbed by ±`eps`; the analytic and numeric
/// gradients must agree to `tolerance` in relative L2.
func checkGradients(
    _ inputs: [Tensor], eps: Float = 1e-2, tolerance: Double = 2e-3, seed: UInt64 = 7,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ f: ([Variable]) -> Variable
) {
    var rng = TestRandom(seed: seed)
    let outShape = f(inputs.map { Variable($0) }).shape
    let cotangent = rng.tensor(outShape)
    let g = cotangent.scalars

    let tape = Tape()
    let vars = inputs.map { tape.watch($0) }
    let out = f(vars)
    let analytic = tape.gradients(of: out, cotangent: cotangent, wrt: vars)

    func loss(_ xs: [Tensor]) -> Double {
        let y = f(xs.map { Variable($0) }).value.scalars
        var s = 0.0
        for i in 0..<y.count { s += Double(y[i]) * Double(g[i]) }
        return s
    }
    for (n, input) in inputs.enumerated() {
        var numeric = [Float](repeating: 0, count: input.count)
        for i in 0..<input.count {
            var plus = inputs, minus = inputs
            plus[n].withUnsafeMutableBufferPointer { $0[i] += eps }
            minus[n].withUnsafeMutableBufferPointer { $0[i] -= eps }
            numeric[i] = Float((loss(plus) - loss(minus)) / (2 * Double(eps)))
        }
        #expect(analytic[n].shape == input.shape, sourceLocation: sourceLocation)
        let err = relativeL2(analytic[n].scalars, numeric)
        #expect(err <= tolerance, "input \(n): gradient rel-L2 error \(err)", sourceLocation: sourceLocation)
    }
}
