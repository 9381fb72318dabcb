/// The MKL (Monge–Kantorovich linearisation) colour transfer DiffuseIT applies to image-mode
/// results with `--use_colormatch` (the `color-matcher` package, method "mkl").
///
/// Both images are min-max normalised over all their values; the source's pixels (as 3-vectors)
/// are mapped by the affine transform that carries its mean and covariance onto the reference's:
/// T = C_s^(-1/2) (C_s^(1/2) C_r C_s^(1/2))^(1/2) C_s^(-1/2), out = T (x − μ_s) + μ_r; the result is
/// min-max normalised again and rounded (half to even) to 8 bits. Everything runs in float64.
enum ColorMatching {
    /// The transfer for interleaved RGB pixels (`height*width*3` values, any range).
    struct Result: Sendable {
        /// T (x − μ_s) + μ_r per pixel, interleaved RGB, before the final stretch.
        var matched: [Double]
        /// The 3x3 transfer matrix T, row-major.
        var transfer: [Double]
        /// Sample covariances (N − 1) of the normalised source and reference.
        var sourceCovariance: [Double], referenceCovariance: [Double]
        /// `matched` min-max stretched to 0…255 and rounded half to even (numpy's `round`).
        var bytes: [UInt8]
    }

    /// Transfers the colours of `reference` onto `source` (both interleaved RGB; sizes may differ).
    static func mkl(source: [Double], reference: [Double]) -> Result {
        precondition(source.count % 3 == 0 && reference.count % 3 == 0 && source.count >= 6 && reference.count >= 6,
            "colour matching needs at least two RGB pixels per image")
        let transfer = Transfer(source: source, reference: reference) { $0 }
        var matched = [Double](repeating: 0, count: source.count)
        for p in 0..<source.count / 3 { for r in 0..<3 { matched[3 * p + r] = transfer.matched(pixel: p, channel: r) } }
        let stretched = minMaxNormalized(matched)
        let bytes = stretched.map { UInt8(clamping: Int(($0 * 255).rounded(.toNearestOrEven))) }
        return Result(matched: matched, transfer: transfer.matrix, sourceCovariance: transfer.sourceCovariance,
            referenceCovariance: transfer.referenceCovariance, bytes: bytes)
    }

    /// ``mkl(source:reference:)``'s bytes for an 8-bit output of any size, written in place: the same
    /// arithmetic in the same order (identical results), streamed over the bytes, so a
    /// full-resolution output never gets float64 copies.
    static func mkl(_ output: inout [UInt8], style: [UInt8]) {
        precondition(output.count % 3 == 0 && style.count % 3 == 0 && output.count >= 6 && style.count >= 6,
            "colour matching needs at least two RGB pixels per image")
        let transfer = Transfer(source: output, reference: style.map(Double.init)) { Double($0) }
        let n = output.count / 3
        var lo = Double.infinity, hi = -Double.infinity
        for p in 0..<n { for r in 0..<3 { let v = transfer.matched(pixel: p, channel: r); lo = min(lo, v); hi = max(hi, v) } }
        let range = hi - lo
        for p in 0..<n {
            // All three channels read the pixel's old values before any is replaced.
            let m = (transfer.matched(pixel: p, channel: 0), transfer.matched(pixel: p, channel: 1), transfer.matched(pixel: p, channel: 2))
            for (r, v) in [m.0, m.1, m.2].enumerated() {
                let s = range > 0 ? (v - lo) / range : 0
                output[3 * p + r] = UInt8(clamping: Int((s * 255).rounded(.toNearestOrEven)))
            }
        }
    }

    /// The fitted transfer: the source read min-max normalised through `value`, its statistics, the
    /// reference's, and T.
    struct Transfer {
        let matrix: [Double]
        let sourceMean: [Double], sourceCovariance: [Double]
        let referenceMean: [Double], referenceCovariance: [Double]
        private let normalizedSource: (Int) -> Double

        init<Source: RandomAccessCollection>(source: Source, reference: [Double], value: @escaping (Source.Element) -> Double)
        where Source.Index == Int {
            let lo = source.lazy.map(value).min() ?? 0, hi = source.lazy.map(value).max() ?? 0, range = hi - lo
            normalizedSource = { i in range > 0 ? (value(source[i]) - lo) / range : 0 }
            (sourceMean, sourceCovariance) = ColorMatching.meanAndCovariance(count: source.count, normalizedSource)
            let ref = ColorMatching.minMaxNormalized(reference)
            (referenceMean, referenceCovariance) = ColorMatching.meanAndCovariance(ref)
            matrix = ColorMatching.transferMatrix(sourceCovariance: sourceCovariance, referenceCovariance: referenceCovariance)
        }

        /// T (x − μ_s) + μ_r for channel `r` of pixel `p`.
        func matched(pixel p: Int, channel r: Int) -> Double {
            let d = (normalizedSource(3 * p) - sourceMean[0], normalizedSource(3 * p + 1) - sourceMean[1], normalizedSource(3 * p + 2) - sourceMean[2])
            return matrix[3 * r] * d.0 + matrix[3 * r + 1] * d.1 + matrix[3 * r + 2] * d.2 + referenceMean[r]
        }
    }

    /// (x − min) / (max − min) over all values (`Normalizer.type_norm`); constant input gives zeros.
    static func minMaxNormalized(_ x: [Double]) -> [Double] {
        let lo = x.min() ?? 0, hi = x.max() ?? 0
        let range = hi - lo
        return x.map { range > 0 ? ($0 - lo) / range : 0 }
    }

    static func meanAndCovariance(_ x: [Double]) -> (mean: [Double], covariance: [Double]) {
        meanAndCovariance(count: x.count) { x[$0] }
    }

    /// Mean and sample covariance (N − 1) of the `count / 3` RGB pixels whose interleaved values
    /// `value` gives.
    static func meanAndCovariance(count: Int, _ value: (Int) -> Double) -> (mean: [Double], covariance: [Double]) {
        let n = count / 3
        var mu = [0.0, 0.0, 0.0]
        for p in 0..<n { for c in 0..<3 { mu[c] += value(3 * p + c) } }
        mu = mu.map { $0 / Double(n) }
        var cov = [Double](repeating: 0, count: 9)
        for p in 0..<n {
            for a in 0..<3 {
                for b in 0..<3 { cov[3 * a + b] += (value(3 * p + a) - mu[a]) * (value(3 * p + b) - mu[b]) }
            }
        }
        return (mu, cov.map { $0 / Double(n - 1) })
    }

    /// color-matcher's `mkl_solver`: eigenvalues clipped at 0, inverse square roots as 1/(√d + ε).
    static func transferMatrix(sourceCovariance a: [Double], referenceCovariance b: [Double]) -> [Double] {
        let eps = Double.ulpOfOne
        let (da, va) = SymmetricEigen.decompose3x3(a)
        let sqrtD = da.map { max($0, 0).squareRoot() }
        let invSqrtD = sqrtD.map { 1 / ($0 + eps) }
        // C = D^½ Vᵀ B V D^½
        let vtbv = Matrix3.mul(Matrix3.transpose(va), Matrix3.mul(b, va))
        var c = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { c[3 * i + j] = sqrtD[i] * vtbv[3 * i + j] * sqrtD[j] } }
        let (dc, vc) = SymmetricEigen.decompose3x3(c)
        let sqrtDc = dc.map { max($0, 0).squareRoot() }
        // T = V D^-½ Vc Dc^½ Vcᵀ D^-½ Vᵀ
        var middle = [Double](repeating: 0, count: 9)
        for i in 0..<3 {
            for j in 0..<3 {
                var s = 0.0
                for k in 0..<3 { s += vc[3 * i + k] * sqrtDc[k] * vc[3 * j + k] }
                middle[3 * i + j] = invSqrtD[i] * s * invSqrtD[j]
            }
        }
        return Matrix3.mul(va, Matrix3.mul(middle, Matrix3.transpose(va)))
    }
}

/// Row-major 3x3 helpers for the colour transfer.
enum Matrix3 {
    static func mul(_ a: [Double], _ b: [Double]) -> [Double] {
        var c = [Double](repeating: 0, count: 9)
        for i in 0..<3 { for j in 0..<3 { for k in 0..<3 { c[3 * i + j] += a[3 * i + k] * b[3 * k + j] } } }
        return c
    }

    static func transpose(_ a: [Double]) -> [Double] {
        [a[0], a[3], a[6], a[1], a[4], a[7], a[2], a[5], a[8]]
    }
}

/// Cyclic Jacobi eigen-decomposition of a symmetric 3x3 matrix (exact to float64 rounding).
enum SymmetricEigen {
    /// Eigenvalues and the matrix whose columns are the matching unit eigenvectors.
    static func decompose3x3(_ m: [Double]) -> (values: [Double], vectors: [Double]) {
        var a = m
        var v: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        for _ in 0..<64 {
            let off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5]
            if off <= 1e-300 { break }
            for (p, q) in [(0, 1), (0, 2), (1, 2)] {
                let apq = a[3 * p + q]
                if apq == 0 { continue }
                let theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq)
                let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
                let c = 1 / (t * t + 1).squareRoot(), s = t * c
                for k in 0..<3 {  // A ← Jᵀ A J
                    let akp = a[3 * k + p], akq = a[3 * k + q]
                    a[3 * k + p] = c * akp - s * akq
                    a[3 * k + q] = s * akp + c * akq
                }
                for k in 0..<3 {
                    let apk = a[3 * p + k], aqk = a[3 * q + k]
                    a[3 * p + k] = c * apk - s * aqk
                    a[3 * q + k] = s * apk + c * aqk
                }
                for k in 0..<3 {
                    let vkp = v[3 * k + p], vkq = v[3 * k + q]
                    v[3 * k + p] = c * vkp - s * vkq
                    v[3 * k + q] = s * vkp + c * vkq
                }
            }
        }
        return ([a[0], a[4], a[8]], v)
    }
}
