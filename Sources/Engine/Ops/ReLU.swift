extension Ops {
    /// ReLU: `max(x, 0)`. The backward passes the gradient where the output is positive (PyTorch's
    /// convention at 0: no gradient), so only the output is kept.
    public static func relu(_ x: Variable) -> Variable {
        let zero = SIMD8<Float>(repeating: 0)
        let out = mapTensor(x.value) { $0.replacing(with: zero, where: $0 .< zero) }
        return Variable.make(out, [x]) { dy in
            [mapTensors(out, dy) { y, g in g.replacing(with: zero, where: y .<= zero) }]
        }
    }
}
