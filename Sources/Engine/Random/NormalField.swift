/// A random-access field of standard normals: value i is a pure function of (key, i).
///
/// Why a field rather than a stream: a tiled sampler needs the noise of any tile of an image too
/// large to hold a noise tensor for, and overlapping tiles must see the same value at the same
/// pixel. Pair j (values 2j and 2j + 1) comes from Philox blocks at counters (j, attempt, tag):
/// Marsaglia's polar method on two 53-bit uniforms per block, the next attempt when a pair is
/// rejected, so no draw depends on any other. Like ``PhiloxGenerator/normalTensor(_:)`` the result
/// is bit-identical on every platform.
public struct NormalField: Sendable, Equatable {
    /// The Philox key.
    public let key: SIMD2<UInt32>

    /// The field for a 64-bit key (take one from a generator with ``PhiloxGenerator/normalField()``).
    public init(key: UInt64) {
        self.key = SIMD2(UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32))
    }

    /// Counter tag keeping the field's blocks apart from a generator's under the same key ("NRML").
    static let tag: UInt32 = 0x4E52_4D4C

    /// Values 2j and 2j + 1.
    @inline(__always)
    func pair(_ j: Int) -> (Float, Float) {
        let lo = UInt32(truncatingIfNeeded: j), hi = UInt32(truncatingIfNeeded: j >> 32)
        var attempt: UInt32 = 0
        while true {
            let w = PhiloxGenerator.block(counter: SIMD4(lo, hi, attempt, NormalField.tag), key: key)
            let a = UInt64(w[0]) | UInt64(w[1]) << 32, b = UInt64(w[2]) | UInt64(w[3]) << 32
            let u = 2 * (Double(a >> 11) * 0x1p-53) - 1, v = 2 * (Double(b >> 11) * 0x1p-53) - 1
            let s = u * u + v * v
            if s < 1 && s != 0 {
                let factor = (-2 * portableLog(s) / s).squareRoot()
                return (Float(u * factor), Float(v * factor))
            }
            attempt &+= 1
        }
    }

    /// The value at `index` (≥ 0).
    public subscript(index: Int) -> Float {
        let p = pair(index >> 1)
        return index & 1 == 0 ? p.0 : p.1
    }

    /// Writes values `start ..< start + out.count` into `out`.
    public func fill(_ out: UnsafeMutableBufferPointer<Float>, from start: Int) {
        precondition(start >= 0, "field indices start at 0")
        var i = start, k = 0
        if i & 1 == 1, k < out.count {
            out[k] = pair(i >> 1).1
            i += 1
            k += 1
        }
        while k < out.count {
            let (a, b) = pair(i >> 1)
            out[k] = a
            if k + 1 < out.count { out[k + 1] = b }
            i += 2
            k += 2
        }
    }

    /// The first `shape.product` values as a tensor (row-major).
    public func tensor(_ shape: [Int]) -> Tensor {
        var t = Tensor(uninitializedShape: shape)
        t.withUnsafeMutableBufferPointer { fill($0, from: 0) }
        return t
    }
}

extension PhiloxGenerator {
    /// A new ``NormalField`` keyed by the next 64 bits: the field takes one draw of the stream, so
    /// the draws after it (other noise, augmentations) do not depend on how much of it is read.
    public mutating func normalField() -> NormalField {
        NormalField(key: next())
    }
}
