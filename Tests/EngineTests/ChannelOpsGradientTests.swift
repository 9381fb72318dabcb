import Testing
@testable import Engine

/// Forward semantics and finite-difference gradients of the per-channel and pooling ops added for ArcFace
/// (eval BatchNorm, PReLU, squeeze-and-excitation, identity shortcuts, the identity loss's face pooling).
@Suite struct ChannelOpsGradientTests {
    var rng = TestRandom(seed: 23)

    /// A tensor with no element within 0.1 of 0, so central differences never straddle a kink.
    mutating func awayFromZero(_ shape: [Int]) -> Tensor {
        Tensor(shape: shape, scalars: rng.tensor(shape).scalars.map { $0 + ($0 < 0 ? -0.1 : 0.1) })
    }

    @Test mutating func sigmoid() {
        checkGradients([rng.tensor([3, 11], scale: 2)]) { v in Ops.sigmoid(v[0]) }
        let y = Ops.sigmoid(Variable(Tensor(shape: [3], scalars: [0, 2, -2]))).value.scalars
        #expect(y[0] == 0.5 && abs(y[1] - 0.880797) < 1e-6 && abs(y[1] + y[2] - 1) < 1e-6)
    }

    @Test mutating func channelAffine() {
        let scale = rng.tensor([3]), shift = rng.tensor([3])
        checkGradients([rng.tensor([2, 3, 4, 5])]) { v in Ops.channelAffine(v[0], scale: scale, shift: shift) }
        // BatchNorm1d's layout: [B, C] with one element per plane.
        checkGradients([rng.tensor([4, 3])]) { v in Ops.channelAffine(v[0], scale: scale, shift: shift) }
        let y = Ops.channelAffine(Variable(Tensor(shape: [2, 2, 1, 2], scalars: [1, 2, 3, 4, 5, 6, 7, 8])),
            scale: Tensor(shape: [2], scalars: [2, -1]), shift: Tensor(shape: [2], scalars: [0.5, 1]))
        #expect(y.value.scalars == [2.5, 4.5, -2, -3, 10.5, 12.5, -6, -7])
    }

    @Test(arguments: [3, 1])
    mutating func prelu(slopes: Int) {
        let slope = Tensor(shape: [slopes], scalars: (0..<slopes).map { 0.25 - 0.3 * Float($0) })
        checkGradients([awayFromZero([2, 3, 4, 5])]) { v in Ops.prelu(v[0], slope: slope) }
        let y = Ops.prelu(Variable(Tensor(shape: [1, slopes, 1, 2], scalars: (0..<slopes).flatMap { _ in [-2, 3] as [Float] })), slope: slope)
        #expect(y.value.scalars == (0..<slopes).flatMap { c in [-2 * slope.scalars[c], 3] })
    }

    @Test mutating func scaleChannels() {
        let x = rng.tensor([2, 3, 4, 5]), gate = rng.tensor([2, 3, 1, 1])
        checkGradients([x, gate]) { v in Ops.scaleChannels(v[0], by: v[1]) }
        // Either operand alone on the tape.
        checkGradients([x]) { v in Ops.scaleChannels(v[0], by: Variable(gate)) }
        checkGradients([gate]) { v in Ops.scaleChannels(Variable(x), by: v[0]) }
        let y = Ops.scaleChannels(Variable(Tensor(shape: [1, 2, 1, 2], scalars: [1, 2, 3, 4])), by: Variable(Tensor(shape: [1, 2], scalars: [10, -1])))
        #expect(y.value.scalars == [10, 20, -3, -4])
    }

    @Test mutating func globalAveragePool() {
        checkGradients([rng.tensor([2, 3, 4, 5])]) { v in Ops.globalAveragePool(v[0]) }
        let y = Ops.globalAveragePool(Variable(Tensor(shape: [1, 2, 2, 2], scalars: [1, 2, 3, 4, 0, 0, 0, 8])))
        #expect(y.shape == [1, 2, 1, 1] && y.value.scalars == [2.5, 2])
    }

    @Test(arguments: [1, 2, 3])
    mutating func subsample(step: Int) {
        checkGradients([rng.tensor([2, 3, 7, 6])]) { v in Ops.subsample(v[0], stride: step) }
        let x = Tensor(shape: [1, 1, 5, 4], scalars: (0..<20).map(Float.init))
        let y = Ops.subsample(Variable(x), stride: step)
        let rows = Array(stride(from: 0, to: 5, by: step)), cols = Array(stride(from: 0, to: 4, by: step))
        #expect(y.shape == [1, 1, rows.count, cols.count])
        #expect(y.value.scalars == rows.flatMap { r in cols.map { Float(r * 4 + $0) } })
    }

    @Test mutating func adaptiveAveragePool() {
        // 7 -> 3 rows: windows [0, 3), [2, 5), [4, 7) overlap; 5 -> 2 columns: [0, 3), [2, 5).
        checkGradients([rng.tensor([2, 3, 7, 5])]) { v in Ops.adaptiveAveragePool2d(v[0], height: 3, width: 2) }
        let x = Tensor(shape: [1, 1, 7, 5], scalars: (0..<35).map(Float.init))
        let y = Ops.adaptiveAveragePool2d(Variable(x), height: 3, width: 2).value.scalars
        func mean(_ rows: Range<Int>, _ cols: Range<Int>) -> Float {
            Float(rows.flatMap { r in cols.map { Double(r * 5 + $0) } }.reduce(0, +) / Double(rows.count * cols.count))
        }
        let expected = [mean(0..<3, 0..<3), mean(0..<3, 2..<5), mean(2..<5, 0..<3), mean(2..<5, 2..<5), mean(4..<7, 0..<3), mean(4..<7, 2..<5)]
        #expect(zip(y, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(y) vs \(expected)")
    }

    /// The identity loss's map: PyTorch's windows for 188 -> 112 are 2 or 3 pixels wide, inside the crop only.
    @Test func adaptiveAverageOfACrop() {
        let map = SparsePlaneMap.adaptiveAverage(inputHeight: 256, inputWidth: 256, crop: (35, 32, 188, 188), outputHeight: 112, outputWidth: 112)
        #expect(map.taps == 9)
        let used = map.indices.filter { $0 >= 0 }.map(Int.init)
        #expect(Set(used).count == 188 * 188, "every crop pixel feeds some output")
        #expect(used.allSatisfy { (35..<223).contains($0 / 256) && (32..<220).contains($0 % 256) })
        // Output (0, 0) averages rows 35..<37 and columns 32..<34 (⌈188/112⌉ = 2).
        #expect(Array(map.indices[0..<4]) == [35 * 256 + 32, 35 * 256 + 33, 36 * 256 + 32, 36 * 256 + 33] && map.weights[0] == 0.25)
        let constant = Tensor(shape: [1, 1, 256, 256], repeating: 3)
        #expect(Ops.resample(Variable(constant), map).value.scalars.allSatisfy { abs($0 - 3) < 1e-6 })
    }
}
