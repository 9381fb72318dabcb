import Testing
@testable import Engine

/// The profile counters the many-core benchmarks read, and the split copies that took the U-Net's skip
/// connections off the calling thread.
@Suite(.serialized) struct EngineProfileTests {
    @Test func aConvolutionShowsItsGEMMAndIm2colTime() {
        var rng = RandomWeightArchive.Generator(seed: 5)
        let x = Tensor(shape: [1, 32, 96, 96], scalars: (0..<(32 * 96 * 96)).map { _ in rng.uniform(scale: 1) })
        let w = Tensor(shape: [64, 32, 3, 3], scalars: (0..<(64 * 32 * 9)).map { _ in rng.uniform(scale: 0.1) })
        let report = EngineProfile.measure { _ = Ops.conv2d(Variable(x), weight: w, bias: nil, padding: 1) }
        #expect(report.wall > 0 && report.gemm > 0 && report.im2col > 0, "\(report)")
        #expect(report.serialWall <= report.wall && report.parallelEfficiency >= 0)
        // Off again afterwards. (The counters are process-wide and other suites run GEMMs at the same time,
        // so sums are not compared here; the benchmarks profile a process of their own.)
        #expect(!EngineProfile.isOn)
    }

    @Test func largeConcatAndSliceCopiesAreExact() {
        // Blocks of 2^19 floats: above the split threshold, so they are copied in parts.
        let a = Tensor(shape: [1, 8, 256, 256], scalars: (0..<(8 * 65536)).map { Float($0) })
        let b = Tensor(shape: [1, 4, 256, 256], scalars: (0..<(4 * 65536)).map { -Float($0) })
        let tape = Tape()
        let (va, vb) = (tape.watch(a), tape.watch(b))
        let joined = Ops.concat([va, vb], axis: 1)
        #expect(joined.value.scalars == a.scalars + b.scalars)
        let cotangent = Tensor(shape: joined.shape, scalars: (0..<(12 * 65536)).map { Float($0 % 977) })
        let grads = tape.gradients(of: joined, cotangent: cotangent, wrt: [va, vb])
        #expect(grads[0].scalars == Array(cotangent.scalars[..<(8 * 65536)]))
        #expect(grads[1].scalars == Array(cotangent.scalars[(8 * 65536)...]))
    }

    @Test func zeroClearsEveryElement() {
        let count = (1 << 20) + 3
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { p.deallocate() }
        p.initialize(repeating: .nan, count: count)
        Parallel.zero(p, count: count)
        #expect(UnsafeBufferPointer(start: p, count: count).allSatisfy { $0 == 0 })
    }
}
