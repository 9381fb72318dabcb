import Engine
import Foundation

/// The value and the input gradient of a scalar function of one tensor.
func valueAndGradient(_ x: Tensor, _ f: (Variable) throws -> Variable) rethrows -> (value: Float, gradient: Tensor) {
    let tape = Tape()
    let v = tape.watch(x)
    let out = try f(v)
    let value = out.value.scalars[0]
    let g = tape.gradients(of: out, cotangent: Tensor(shape: out.shape, repeating: 1), wrt: [v])[0]
    return (value, g)
}

/// Relative error of two scalars (absolute when the reference is 0).
func relativeError(_ a: Float, _ b: Float) -> Double {
    let d = abs(Double(a) - Double(b))
    return b == 0 ? d : d / abs(Double(b))
}

extension Fixtures {
    /// A float32 tensor of a fixture file.
    static func tensor(_ file: String, _ name: String) throws -> Tensor {
        try safetensors(file).tensor(named: name)
    }

    /// Whether the fixture file holds the tensor.
    static func has(_ file: String, _ name: String) -> Bool {
        (try? safetensors(file).shape(of: name)) != nil
    }
}
