#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Vectorised transcendental functions for the element-wise kernels (libm's `expf` is scalar and
/// dominates SiLU/softmax time otherwise). Accuracy: a few ulp over the float range.
enum VectorMath {
    typealias V = SIMD8<Float>

    /// e^x (Cephes-style: x = n ln2 + r, polynomial for e^r, 2^n from the exponent bits).
    /// Written without SIMD float-to-int conversions or `pointwiseMin`, which Swift does not
    /// vectorise: n is rounded with the 1.5·2^23 "magic number" and read from its low bits.
    @inline(__always)
    static func exp(_ x: V) -> V {
        var x = x
        x = x.replacing(with: V(repeating: -87.33654), where: x .< -87.33654)
        x = x.replacing(with: V(repeating: 88.37626), where: x .> 88.37626)
        let magic = V(repeating: 12582912.0)
        let t = x * 1.4426950408889634 + magic
        let n = t - magic
        // Two-part ln2 keeps the reduction exact.
        var r = x - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * (r * r) + r + 1
        let ni = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        return er * unsafeBitCast((ni &+ 127) &<< 23, to: V.self)
    }

    /// erf(x) by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7), odd-extended.
    @inline(__always)
    static func erf(_ x: V) -> V {
        let negative = x .< 0
        let a = x.replacing(with: -x, where: negative)
        let t = 1 / (1 + 0.3275911 * a)
        var p = V(repeating: 1.061405429)
        p = p * t - 1.453152027
        p = p * t + 1.421413741
        p = p * t - 0.284496736
        p = p * t + 0.254829592
        let y = 1 - p * t * exp(-(a * a))
        return y.replacing(with: -y, where: negative)
    }

    /// 1 / (1 + e^-x).
    @inline(__always)
    static func sigmoid(_ x: V) -> V { 1 / (1 + exp(-x)) }

    /// Applies `f` to `count` floats from `src` into `dst` (which may equal `src`), 8 at a time.
    @inline(__always)
    static func map(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int, _ f: (V) -> V) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: f(v), as: V.self)
            i += 8
        }
        if i < count {
            var v = V(repeating: 0)
            for j in 0..<(count - i) { v[j] = src[i + j] }
            let r = f(v)
            for j in 0..<(count - i) { dst[i + j] = r[j] }
        }
    }

    /// Applies `f(a, b)` to two inputs, 8 at a time.
    @inline(__always)
    static func map2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int, _ f: (V, V) -> V) {
        var i = 0
        while i + 8 <= count {
            let va = UnsafeRawPointer(a + i).loadUnaligned(as: V.self)
            let vb = UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: f(va, vb), as: V.self)
            i += 8
        }
        if i < count {
            var va = V(repeating: 0), vb = V(repeating: 0)
            for j in 0..<(count - i) { va[j] = a[i + j]; vb[j] = b[i + j] }
            let r = f(va, vb)
            for j in 0..<(count - i) { dst[i + j] = r[j] }
        }
    }

    /// Sum of `count` floats, accumulated in float lanes and flushed to double every block.
    static func sum(_ p: UnsafePointer<Float>, _ count: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(count, start + 4096)
            var acc = V(repeating: 0)
            var i = start
            while i + 8 <= end {
                acc += UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
                i += 8
            }
            var tail: Float = 0
            while i < end { tail += p[i]; i += 1 }
            total += Double(acc.sum()) + Double(tail)
            start = end
        }
        return total
    }

    /// Σ (p[i] - mean)², accumulated like `sum`.
    static func sumSquaredDeviation(_ p: UnsafePointer<Float>, _ count: Int, mean: Float) -> Double {
        var total = 0.0
        var start = 0
        let m = V(repeating: mean)
        while start < count {
            let end = min(count, start + 4096)
            var acc = V(repeating: 0)
            var i = start
            while i + 8 <= end {
                let d = UnsafeRawPointer(p + i).loadUnaligned(as: V.self) - m
                acc += d * d
                i += 8
            }
            var tail: Float = 0
            while i < end { let d = p[i] - mean; tail += d * d; i += 1 }
            total += Double(acc.sum()) + Double(tail)
            start = end
        }
        return total
    }

    /// Σ a[i] * b[i], accumulated like `sum`.
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Double {
        var total = 0.0
        var start = 0
        while start < count {
            let end = min(count, start + 4096)
            var acc = V(repeating: 0)
            var i = start
            while i + 8 <= end {
                acc += UnsafeRawPointer(a + i).loadUnaligned(as: V.self) * UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
                i += 8
            }
            var tail: Float = 0
            while i < end { tail += a[i] * b[i]; i += 1 }
            total += Double(acc.sum()) + Double(tail)
            start = end
        }
        return total
    }
}
