/// Group and layer normalisation kernels (forward and input-gradient), multithreaded.
enum NormalizationKernel {
    typealias V = SIMD8<Float>

    /// Group norm of `x [B, C, S]` with `groups` groups, followed by a per-(sample, channel) affine map
    /// `y = xhat * gamma[b*C+c] + beta[b*C+c]` and, when `silu`, `y = y * sigmoid(y)`.
    /// Writes the per-(sample, group) mean and 1/std to `mean`/`rstd` for the backward pass.
    static func groupNormForward(
        x: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int, groups: Int, eps: Float,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, silu: Bool,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>
    ) {
        let cpg = channels / groups
        let n = cpg * spatial
        let px = UncheckedSendable(x), py = UncheckedSendable(y)
        let pm = UncheckedSendable(mean), pr = UncheckedSendable(rstd)
        Parallel.forEach(batch * groups) { bg in
            let base = px.value + bg * n
            let mu = Float(VectorMath.sum(base, n) / Double(n))
            let variance = VectorMath.sumSquaredDeviation(base, n, mean: mu) / Double(n)
            let rs = Float(1 / (variance + Double(eps)).squareRoot())
            pm.value[bg] = mu
            pr.value[bg] = rs
            let b = bg / groups, g = bg % groups
            for cl in 0..<cpg {
                let c = g * cpg + cl
                let a = rs * gamma[b * channels + c]
                let d = beta[b * channels + c] - mu * a
                let src = base + cl * spatial
                let dst = py.value + bg * n + cl * spatial
                if silu {
                    VectorMath.map(src, dst, spatial) { v in
                        let z = v * a + d
                        return z * VectorMath.sigmoid(z)
                    }
                } else {
                    VectorMath.map(src, dst, spatial) { v in v * a + d }
                }
            }
        }
    }

    /// Input gradient of `groupNormForward` given `dy`; `dx` must not alias `x` or `dy`.
    static func groupNormBackward(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int, groups: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, silu: Bool,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
    ) {
        let cpg = channels / groups
        let n = cpg * spatial
        let px = UncheckedSendable(x), pdy = UncheckedSendable(dy), pdx = UncheckedSendable(dx)
        Parallel.forEach(batch * groups) { bg in
            let b = bg / groups, g = bg % groups
            let mu = mean[bg], rs = rstd[bg]
            // Pass 1: dxhat = d(loss)/d(xhat) into dx (scratch), and its two group sums.
            var sumD = 0.0, sumDX = 0.0
            for cl in 0..<cpg {
                let c = g * cpg + cl
                let ga = gamma[b * channels + c]
                let a = rs * ga
                let d = beta[b * channels + c] - mu * a
                let off = bg * n + cl * spatial
                let src = px.value + off, gy = pdy.value + off, out = pdx.value + off
                if silu {
                    VectorMath.map2(src, gy, out, spatial) { v, g in
                        let z = v * a + d
                        let s = VectorMath.sigmoid(z)
                        return g * (s * (1 + z * (1 - s))) * ga
                    }
                } else {
                    VectorMath.map(gy, out, spatial) { g in g * ga }
                }
                // Σ dxhat·xhat = rs·(Σ dxhat·x − mu·Σ dxhat)
                let s0 = VectorMath.sum(out, spatial)
                let s1 = VectorMath.dot(out, src, spatial)
                sumD += s0
                sumDX += Double(rs) * (s1 - Double(mu) * s0)
            }
            let m1 = Float(sumD / Double(n)), m2 = Float(sumDX / Double(n))
            // Pass 2: dx = rs * (dxhat - m1 - xhat * m2).
            let base = bg * n
            VectorMath.map2(pdx.value + base, px.value + base, pdx.value + base, n) { dh, v in
                let xhat = (v - mu) * rs
                return (dh - m1 - xhat * m2) * rs
            }
        }
    }

    /// Layer norm over the last axis of `x [rows, d]`: `y = xhat * gamma + beta`.
    static func layerNormForward(
        x: UnsafePointer<Float>, rows: Int, d: Int, eps: Float, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
        y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>
    ) {
        let px = UncheckedSendable(x), py = UncheckedSendable(y)
        let pm = UncheckedSendable(mean), pr = UncheckedSendable(rstd)
        Parallel.forEach(rows, grain: max(1, 4096 / max(d, 1))) { r in
            let src = px.value + r * d, dst = py.value + r * d
            let mu = Float(VectorMath.sum(src, d) / Double(d))
            let variance = VectorMath.sumSquaredDeviation(src, d, mean: mu) / Double(d)
            let rs = Float(1 / (variance + Double(eps)).squareRoot())
            pm.value[r] = mu
            pr.value[r] = rs
            let m = V(repeating: mu), s = V(repeating: rs)
            VectorMath.map2(src, gamma, dst, d) { v, g in (v - m) * s * g }
            VectorMath.map2(dst, beta, dst, d) { $0 + $1 }
        }
    }

    /// Input gradient of `layerNormForward`.
    static func layerNormBackward(
        x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows: Int, d: Int, gamma: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
    ) {
        let px = UncheckedSendable(x), pdy = UncheckedSendable(dy), pdx = UncheckedSendable(dx)
        Parallel.forEach(rows, grain: max(1, 4096 / max(d, 1))) { r in
            let src = px.value + r * d, g = pdy.value + r * d, out = pdx.value + r * d
            let mu = mean[r], rs = rstd[r]
            VectorMath.map2(g, gamma, out, d) { $0 * $1 }
            // Σ dxhat·xhat = rs·(Σ dxhat·x − mu·Σ dxhat)
            let s0 = VectorMath.sum(out, d)
            let s1 = Double(rs) * (VectorMath.dot(out, src, d) - Double(mu) * s0)
            let m1 = V(repeating: Float(s0 / Double(d))), m2 = V(repeating: Float(s1 / Double(d)))
            let m = V(repeating: mu), s = V(repeating: rs)
            VectorMath.map2(out, src, out, d) { dh, v in (dh - m1 - (v - m) * s * m2) * s }
        }
    }
}
