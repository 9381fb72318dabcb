import Foundation

/// Pixel similarity of two 8-bit RGB images of one size (interleaved bytes): PSNR and SSIM, as image
/// translation papers report them against the source.
enum ImageSimilarity {
    /// Peak signal-to-noise ratio over all samples, in dB; nil for identical images (infinite).
    static func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double? {
        precondition(a.count == b.count && !a.isEmpty, "PSNR needs two images of one size")
        var sum = 0.0
        for i in 0..<a.count {
            let d = Double(a[i]) - Double(b[i])
            sum += d * d
        }
        guard sum > 0 else { return nil }
        return 10 * log10(255 * 255 / (sum / Double(a.count)))
    }

    /// The structural similarity index (Wang et al. 2004) with its usual settings: an 11x11 Gaussian
    /// window of σ 1.5, K1 0.01, K2 0.03, L 255, the map averaged over the pixels whose window lies
    /// inside the image, then over the R, G and B channels.
    static func ssim(_ a: [UInt8], _ b: [UInt8], width w: Int, height h: Int) -> Double {
        precondition(a.count == b.count && a.count == 3 * w * h, "SSIM needs two RGB images of one size")
        let radius = min(5, (min(w, h) - 1) / 2)
        let kernel: [Double] = {
            let raw = (-radius...radius).map { (i: Int) -> Double in exp(-Double(i * i) / 4.5) }  // 2σ² with σ = 1.5
            let total = raw.reduce(0, +)
            return raw.map { $0 / total }
        }()
        let c1: Double = (0.01 * 255) * (0.01 * 255), c2: Double = (0.03 * 255) * (0.03 * 255)
        let outW = w - 2 * radius, outH = h - 2 * radius
        var total = 0.0
        for c in 0..<3 {
            // Separable Gaussian sums of x, y, x², y², xy: rows first, then columns.
            func plane(_ f: (Double, Double) -> Double) -> [Double] {
                (0..<(w * h)).map { f(Double(a[3 * $0 + c]), Double(b[3 * $0 + c])) }
            }
            func blur(_ p: [Double]) -> [Double] {
                var rows = [Double](repeating: 0, count: outW * h)
                for y in 0..<h { for x in 0..<outW {
                    var s = 0.0
                    for k in 0..<kernel.count { s += kernel[k] * p[y * w + x + k] }
                    rows[y * outW + x] = s
                } }
                var out = [Double](repeating: 0, count: outW * outH)
                for y in 0..<outH { for x in 0..<outW {
                    var s = 0.0
                    for k in 0..<kernel.count { s += kernel[k] * rows[(y + k) * outW + x] }
                    out[y * outW + x] = s
                } }
                return out
            }
            let mx = blur(plane { x, _ in x }), my = blur(plane { _, y in y })
            let sxx = blur(plane { x, _ in x * x }), syy = blur(plane { _, y in y * y }), sxy = blur(plane { x, y in x * y })
            var sum = 0.0
            for i in 0..<mx.count {
                let vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cov = sxy[i] - mx[i] * my[i]
                sum += (2 * mx[i] * my[i] + c1) * (2 * cov + c2) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
            }
            total += sum / Double(mx.count)
        }
        return total / 3
    }
}
