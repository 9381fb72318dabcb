import Foundation
import Testing
@testable import Engine

/// Forward semantics and finite-difference gradients of the ops added for DINO and CLIP.
@Suite struct FeatureOpsGradientTests {
    var rng = TestRandom(seed: 11)

    /// Straightforward attention on `[B, N, D]` operands (scores in double), for checking the kernel.
    static func naiveAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool) -> [Float] {
        let (b, nq, d) = (q.shape[0], q.shape[1], q.shape[2])
        let nk = k.shape[1], hd = d / heads
        let (qs, ks, vs) = (q.scalars, k.scalars, v.scalars)
        var out = [Float](repeating: 0, count: b * nq * d)
        for bi in 0..<b {
            for h in 0..<heads {
                for i in 0..<nq {
                    var scores = [Double](repeating: -.infinity, count: nk)
                    for j in 0..<nk where !(causal && j > i) {
                        var s = 0.0
                        for c in 0..<hd { s += Double(qs[(bi * nq + i) * d + h * hd + c]) * Double(ks[(bi * nk + j) * d + h * hd + c]) }
                        scores[j] = s / Double(hd).squareRoot()
                    }
                    let m = scores.max()!
                    let e = scores.map { $0 == -.infinity ? 0 : Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    for c in 0..<hd {
                        var acc = 0.0
                        for j in 0..<nk { acc += e[j] / z * Double(vs[(bi * nk + j) * d + h * hd + c]) }
                        out[(bi * nq + i) * d + h * hd + c] = Float(acc)
                    }
                }
            }
        }
        return out
    }

    /// 5 tokens: one block of rows; 130: three blocks of `TokenAttention.rowBlock` (64), the last of 2 rows.
    @Test(arguments: [false, true], [5, 130])
    mutating func selfAttentionMatchesNaive(causal: Bool, tokens: Int) {
        let qkv = rng.tensor([2, tokens, 3 * 8])
        let y = Ops.selfAttention(Variable(qkv), heads: 2, causal: causal)
        let parts = (0..<3).map { Ops.sliceTensor(qkv, axis: 2, ($0 * 8)..<(($0 + 1) * 8)) }
        let ref = Self.naiveAttention(q: parts[0], k: parts[1], v: parts[2], heads: 2, causal: causal)
        #expect(relativeL2(y.value.scalars, ref) < 1e-5)
    }

    @Test(arguments: [false, true], [5, 130])
    mutating func selfAttentionGradient(causal: Bool, tokens: Int) {
        let qkv = rng.tensor([2, tokens, 3 * 8])
        checkGradients([qkv]) { v in Ops.selfAttention(v[0], heads: 2, causal: causal) }
    }

    /// One query (CLIP's attention pooling) and a query block over several key blocks.
    @Test(arguments: [1, 70])
    mutating func separateAttention(queries: Int) {
        let q = rng.tensor([2, queries, 8]), k = rng.tensor([2, 133, 8]), v = rng.tensor([2, 133, 8])
        let y = Ops.attention(query: Variable(q), key: Variable(k), value: Variable(v), heads: 4)
        #expect(relativeL2(y.value.scalars, Self.naiveAttention(q: q, k: k, v: v, heads: 4, causal: false)) < 1e-5)
        checkGradients([q, k, v]) { x in Ops.attention(query: x[0], key: x[1], value: x[2], heads: 4) }
    }

    @Test mutating func resizeBilinearGradient() {
        let x = rng.tensor([2, 2, 7, 9])
        checkGradients([x]) { v in Ops.resizeBilinear(v[0], height: 4, width: 5) }
        checkGradients([x]) { v in Ops.resizeBilinear(v[0], height: 10, width: 12) }
    }

    /// With align_corners=False an exact 2x downscale samples midway between pixel pairs: a 2x2 mean.
    @Test mutating func resizeBilinearHalvingIsBoxMean() {
        let x = rng.tensor([1, 3, 8, 6])
        let y = Ops.resizeBilinear(Variable(x), height: 4, width: 3)
        #expect(relativeL2(y.value.scalars, Ops.avgPool2x2(Variable(x)).value.scalars) < 1e-6)
    }

    /// Upscaling a linear ramp: interior samples stay on the ramp, border samples clamp.
    @Test func resizeBilinearRamp() {
        let x = Tensor(shape: [1, 1, 1, 4], scalars: [0, 1, 2, 3])
        let y = Ops.resizeBilinear(Variable(x), height: 1, width: 8).value.scalars
        #expect(y == [0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    }

    @Test mutating func bicubicSameSizeIsIdentity() {
        let x = rng.tensor([1, 2, 5, 6])
        #expect(Resample.bicubic(x, outHeight: 5, outWidth: 6).scalars == x.scalars)
    }

    /// Halving puts every sample midway (t = 0.5), where A = -0.75 gives weights
    /// (-0.09375, 0.59375, 0.59375, -0.09375); constants are reproduced whatever the scale factor.
    @Test func bicubicKernelWeights() {
        var delta = [Float](repeating: 0, count: 12)
        delta[5] = 1
        let y = Resample.bicubic(Tensor(shape: [1, 1, 1, 12], scalars: delta), outHeight: 1, outWidth: 6).scalars
        #expect(y == [0, 0, 0.59375, -0.09375, 0, 0])
        let ones = Tensor(shape: [1, 1, 3, 4], repeating: 1)
        let up = Resample.bicubic(ones, outHeight: 7, outWidth: 9, scaleFactor: (2.4, 2.3)).scalars
        #expect(up.allSatisfy { abs($0 - 1) < 1e-5 }, "\(up.map { $0 - 1 })")
    }

    @Test mutating func reluGradient() {
        // Keep inputs away from the kink so central differences are valid.
        let x = Tensor(shape: [3, 7], scalars: rng.tensor([3, 7]).scalars.map { $0 + ($0 < 0 ? -0.1 : 0.1) })
        checkGradients([x]) { v in Ops.relu(v[0]) }
        #expect(Ops.relu(Variable(Tensor(shape: [3], scalars: [-1, 0, 2]))).value.scalars == [0, 0, 2])
    }

    @Test mutating func normalizeChannelsGradient() {
        let x = rng.tensor([2, 3, 4, 5])
        checkGradients([x]) { v in Ops.normalizeChannels(v[0], mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 2]) }
        let y = Ops.normalizeChannels(Variable(Tensor(shape: [1, 3, 1, 1], scalars: [1, 1, 1])), mean: [0.5, 0, 1], std: [0.5, 2, 1])
        #expect(y.value.scalars == [1, 0.5, 0])
    }
}
