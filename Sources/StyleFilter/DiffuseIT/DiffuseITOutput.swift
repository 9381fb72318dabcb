import Engine

/// How DiffuseIT turns its final x₀ estimate into 8-bit pixels.
enum DiffuseITOutput {
    /// `to_pil_image(((x + 1) / 2).clamp(0, 1))`: ×255 and truncated (upstream's `.byte()`), from planar
    /// `[C, H, W]` values to interleaved `H x W x C` bytes.
    static func truncatedBytes(planar x: [Float], channels: Int) -> [UInt8] {
        let plane = x.count / channels
        var out = [UInt8](repeating: 0, count: x.count)
        for c in 0..<channels {
            for p in 0..<plane {
                out[p * channels + c] = truncated(x[c * plane + p])
            }
        }
        return out
    }

    /// One model value in [−1, 1] as an 8-bit level, truncated.
    @inline(__always)
    static func truncated(_ value: Float) -> UInt8 {
        // NaN (a diverged run) becomes 0 rather than trapping in the conversion.
        value.isNaN ? 0 : UInt8(min(max((value + 1) / 2, 0), 1) * 255)
    }

    /// Row `row` of a planar `[3, rows, W]` band as interleaved 8-bit RGB into `out` (`3W` bytes), with
    /// ``truncatedBytes(planar:channels:)``'s arithmetic.
    static func truncatedRow(_ band: UnsafeBufferPointer<Float>, row: Int, rows: Int, into out: inout [UInt8]) {
        let w = out.count / 3, plane = rows * w
        for c in 0..<3 {
            for x in 0..<w {
                out[x * 3 + c] = truncated(band[c * plane + row * w + x])
            }
        }
    }
}
