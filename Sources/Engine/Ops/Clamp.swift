extension Ops {
    /// `min(max(x, lower), upper)`; the gradient passes where `lower ≤ x ≤ upper` (as `torch.clamp`).
    public static func clamp(_ x: Variable, lower: Float, upper: Float) -> Variable {
        let out = mapTensor(x.value) { v in v.clamped(lowerBound: SIMD8(repeating: lower), upperBound: SIMD8(repeating: upper)) }
        let input = x.value
        return Variable.make(out, [x]) { dy in
            [mapTensors(input, dy) { v, g in
                let inside = (v .>= SIMD8(repeating: lower)) .& (v .<= SIMD8(repeating: upper))
                return SIMD8<Float>(repeating: 0).replacing(with: g, where: inside)
            }]
        }
    }
}
