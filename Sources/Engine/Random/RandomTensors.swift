/// Platform-independent uniform and standard-normal draws on `PhiloxGenerator`.
///
/// Normals use Marsaglia's polar method in float64, rounded once to float32. The polar method needs
/// only `+ − × ÷`, `sqrt` (correctly rounded by IEEE 754) and a logarithm; the logarithm here is
/// computed with those same operations (`portableLog`), not with the platform's libm, so a seed
/// yields bit-identical tensors on every platform. (Box–Muller would also need sin/cos from libm.)
extension PhiloxGenerator {
    /// A uniform float64 in [0, 1) with 53 random bits.
    public mutating func nextUniformDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A uniform float32 in [0, 1) with 24 random bits.
    public mutating func nextUniformFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A pair of independent standard normals (float64).
    public mutating func nextNormalPair() -> (Double, Double) {
        while true {
            let u = 2 * nextUniformDouble() - 1, v = 2 * nextUniformDouble() - 1
            let s = u * u + v * v
            if s >= 1 || s == 0 { continue }
            let factor = (-2 * portableLog(s) / s).squareRoot()
            return (u * factor, v * factor)
        }
    }

    /// A tensor of independent standard normals (mean 0, variance 1).
    ///
    /// Draws come in pairs, so a tensor with an odd element count discards one draw.
    public mutating func normalTensor(_ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { out in
            var i = 0
            while i < out.count {
                let (a, b) = nextNormalPair()
                out[i] = Float(a)
                if i + 1 < out.count { out[i + 1] = Float(b) }
                i += 2
            }
        }
        return t
    }

    /// A tensor of independent uniforms in [0, 1).
    public mutating func uniformTensor(_ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { out in
            for i in 0..<out.count { out[i] = nextUniformFloat() }
        }
        return t
    }
}

/// Natural logarithm of a positive finite `x` from IEEE-exact operations only, so its result does not
/// depend on the platform's libm (accurate to a few ulp, which is all the normal draws need).
///
/// x = m·2^e with m in [√½, √2); ln m = 2·atanh(z), z = (m−1)/(m+1), |z| ≤ 0.1716, summed as an odd
/// series until the terms fall below float64 resolution (z² ≤ 0.0295, 16 terms reach 1e-24).
func portableLog(_ x: Double) -> Double {
    precondition(x > 0 && x.isFinite, "portableLog needs a positive finite argument")
    var e = Double(Int(x.exponent))
    var m = x.significand  // [1, 2), exact
    if m > 1.4142135623730951 {
        m *= 0.5
        e += 1
    }
    let z = (m - 1) / (m + 1), z2 = z * z
    var series = 0.0
    for k in stride(from: 31, through: 3, by: -2) {
        series = (series + 1 / Double(k)) * z2
    }
    let lnM = 2 * z * (1 + series)
    // ln 2 split so that e·ln2Hi is exact for |e| < 2^11.
    let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10
    return e * ln2Hi + (lnM + e * ln2Lo)
}
