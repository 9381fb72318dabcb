import Foundation
import Testing
@testable import Engine

/// Finite-difference and reference checks of the ops DiffuseIT's guidance losses use.
@Suite struct ResampleAndNormalizeOpsTests {
    var rng = TestRandom(seed: 11)

    @Test mutating func resampleBilinearCropGradient() {
        let x = rng.tensor([1, 2, 7, 6])
        let map = SparsePlaneMap.bilinear(inputHeight: 7, inputWidth: 6, crop: (1, 2, 5, 3), outputHeight: 4, outputWidth: 5)
        checkGradients([x]) { v in Ops.resample(v[0], map) }
    }

    @Test mutating func resampleComposedGradient() {
        let x = rng.tensor([2, 1, 5, 5])
        let map = SparsePlaneMap.horizontalFlip(height: 5, width: 5)
            .then(SparsePlaneMap.bilinear(inputHeight: 5, inputWidth: 5, crop: (0, 1, 4, 4), outputHeight: 6, outputWidth: 6))
        checkGradients([x]) { v in Ops.resample(v[0], map) }
    }

    /// A downscale by 2 with half-pixel centres averages each 2x2 block; identity size is identity.
    @Test mutating func bilinearReferenceValues() {
        let x = rng.tensor([1, 1, 4, 4])
        let half = Ops.resample(Variable(x), .bilinear(inputHeight: 4, inputWidth: 4, outputHeight: 2, outputWidth: 2)).value.scalars
        let s = x.scalars
        let expected: Float = (s[0] + s[1] + s[4] + s[5]) / 4
        #expect(abs(half[0] - expected) < 1e-6)
        let same = Ops.resample(Variable(x), .bilinear(inputHeight: 4, inputWidth: 4, outputHeight: 4, outputWidth: 4)).value.scalars
        #expect(same == s)
        let flipped = Ops.resample(Variable(x), .horizontalFlip(height: 4, width: 4)).value.scalars
        #expect(flipped[0] == s[3] && flipped[7] == s[4])
    }

    @Test mutating func clampGradient() {
        let x = rng.tensor([3, 7], scale: 2)
        checkGradients([x], eps: 1e-3) { v in Ops.clamp(v[0], lower: -1, upper: 1) }
        let y = Ops.clamp(Variable(x), lower: -1, upper: 1).value.scalars
        #expect(y.allSatisfy { $0 >= -1 && $0 <= 1 })
    }

    @Test mutating func l2NormalizeGradient() {
        let x = rng.tensor([4, 6])
        checkGradients([x], eps: 1e-3) { v in Ops.l2Normalize(v[0]) }
        let y = Ops.l2Normalize(Variable(x)).value.scalars
        let norm = (0..<6).map { y[$0] * y[$0] }.reduce(0, +)
        #expect(abs(norm - 1) < 1e-5)
    }

    @Test mutating func logSoftmaxGradient() {
        let x = rng.tensor([3, 5], scale: 3)
        checkGradients([x], eps: 1e-3) { v in Ops.logSoftmax(v[0]) }
        let y = Ops.logSoftmax(Variable(x)).value.scalars
        let total = (0..<5).map { exp(Double(y[$0])) }.reduce(0, +)
        #expect(abs(total - 1) < 1e-5)
    }
}
