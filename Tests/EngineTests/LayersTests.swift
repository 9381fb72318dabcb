import Testing
@testable import Engine

/// The shared layers load by the checkpoint's key names with shape checks and compute what their PyTorch
/// modules compute.
@Suite struct LayersTests {
    var rng = TestRandom(seed: 5)

    /// A BatchNorm's four tensors under `prefix`, with a positive running variance.
    mutating func batchNormEntries(_ prefix: String, channels: Int) -> [(name: String, tensor: Tensor)] {
        let variance = Tensor(shape: [channels], scalars: rng.tensor([channels]).scalars.map { 0.5 + $0 * $0 })
        return [
            ("\(prefix).weight", rng.tensor([channels])), ("\(prefix).bias", rng.tensor([channels])),
            ("\(prefix).running_mean", rng.tensor([channels])), ("\(prefix).running_var", variance),
        ]
    }

    @Test mutating func batchNormIsTheRunningStatisticsAffineMap() throws {
        let entries = batchNormEntries("bn", channels: 3)
        let bn = try BatchNorm(WeightStore(InMemoryArchive(entries: entries)).scoped("bn"), channels: 3, eps: 1e-5)
        let x = rng.tensor([2, 3, 2, 2])
        let (gamma, beta, mean, variance) = (entries[0].tensor.scalars, entries[1].tensor.scalars, entries[2].tensor.scalars, entries[3].tensor.scalars)
        let expected = x.scalars.enumerated().map { i, v in
            let c = (i / 4) % 3
            return Float((Double(v) - Double(mean[c])) / (Double(variance[c]) + 1e-5).squareRoot() * Double(gamma[c]) + Double(beta[c]))
        }
        #expect(relativeL2(bn(Variable(x)).value.scalars, expected) < 1e-6)
    }

    @Test(arguments: [false, true])
    mutating func foldedBatchNormEqualsConvolutionThenBatchNorm(convBias: Bool) throws {
        var entries: [(name: String, tensor: Tensor)] = [("block.0.weight", rng.tensor([4, 3, 3, 3], scale: 0.3))]
        if convBias { entries.append(("block.0.bias", rng.tensor([4]))) }
        entries += batchNormEntries("block.1", channels: 4)
        let store = WeightStore(InMemoryArchive(entries: entries)).scoped("block")
        let folded = try Conv2d(store, conv: "0", batchNorm: "1", inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1, bias: convBias, eps: 1e-5)
        let conv = try Conv2d(store.scoped("0"), inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: 1, bias: convBias)
        let bn = try BatchNorm(store.scoped("1"), channels: 4, eps: 1e-5)
        let x = Variable(rng.tensor([2, 3, 7, 6]))
        #expect(relativeL2(folded(x).value.scalars, bn(conv(x)).value.scalars) < 1e-6)
    }

    @Test mutating func linearReadsTheModulesOwnKeyNames() throws {
        let (w, b) = (rng.tensor([6, 2]), rng.tensor([6]))
        let store = WeightStore(InMemoryArchive(entries: [("attn.in_proj_weight", w), ("attn.in_proj_bias", b)]))
        let layer = try Linear(store.scoped("attn"), inFeatures: 2, outFeatures: 6, weightKey: "in_proj_weight", biasKey: "in_proj_bias")
        let x = Variable(rng.tensor([3, 2]))
        #expect(layer(x).value.scalars == Ops.linear(x, weight: w, bias: b).value.scalars)
        #expect(throws: CheckpointError.missingTensor(name: "attn.weight")) { try Linear(store.scoped("attn"), inFeatures: 2, outFeatures: 6) }
    }

    @Test mutating func wrongShapesNameTheFullKey() {
        let store = WeightStore(InMemoryArchive(entries: [("a.b.weight", rng.tensor([4, 3, 3, 3])), ("a.b.bias", rng.tensor([4]))]))
        #expect(throws: CheckpointError.shapeMismatch(name: "a.b.weight", expected: [4, 3, 1, 1], found: [4, 3, 3, 3])) {
            try Conv2d(store.scoped("a.b"), inChannels: 3, outChannels: 4, kernel: 1)
        }
        let badBias = WeightStore(InMemoryArchive(entries: [("a.b.weight", rng.tensor([5, 3, 3, 3])), ("a.b.bias", rng.tensor([4]))]))
        #expect(throws: CheckpointError.shapeMismatch(name: "a.b.bias", expected: [5], found: [4])) {
            try Conv2d(badBias.scoped("a.b"), inChannels: 3, outChannels: 5, kernel: 3)
        }
    }
}
