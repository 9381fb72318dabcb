import Testing
@testable import Engine

/// Finite-difference checks of every differentiable op's backward.
@Suite struct OpsGradientTests {
    var rng = TestRandom(seed: 1)

    @Test(arguments: [(1, 1), (2, 1), (1, 0), (2, 0)])
    mutating func conv2d3x3(stride: Int, padding: Int) {
        let x = rng.tensor([2, 3, 6, 5]), w = rng.tensor([4, 3, 3, 3], scale: 0.3), b = rng.tensor([4])
        checkGradients([x]) { v in Ops.conv2d(v[0], weight: w, bias: b, stride: stride, padding: padding) }
    }

    @Test mutating func conv2dPointwise() {
        let x = rng.tensor([2, 5, 4, 3]), w = rng.tensor([3, 5, 1, 1], scale: 0.3)
        checkGradients([x]) { v in Ops.conv2d(v[0], weight: w) }
    }

    @Test mutating func conv1x1() {
        let x = rng.tensor([2, 5, 7]), w = rng.tensor([3, 5, 1], scale: 0.3), b = rng.tensor([3])
        checkGradients([x]) { v in Ops.conv1x1(v[0], weight: w, bias: b) }
    }

    @Test mutating func linear() {
        let x = rng.tensor([2, 3, 5]), w = rng.tensor([4, 5], scale: 0.3), b = rng.tensor([4])
        checkGradients([x]) { v in Ops.linear(v[0], weight: w, bias: b) }
    }

    @Test(arguments: [false, true], [false, true])
    mutating func groupNorm(scaleShift: Bool, silu: Bool) {
        let x = rng.tensor([2, 8, 3, 3]), w = rng.tensor([8], scale: 0.5), b = rng.tensor([8])
        let ss = scaleShift ? (rng.tensor([2, 8], scale: 0.5), rng.tensor([2, 8])) : nil
        checkGradients([x], eps: 3e-3) { v in
            Ops.groupNorm(v[0], groups: 4, weight: w, bias: b, scaleShift: ss, silu: silu)
        }
    }

    @Test mutating func layerNorm() {
        let x = rng.tensor([3, 4, 6]), w = rng.tensor([6], scale: 0.5), b = rng.tensor([6])
        checkGradients([x], eps: 3e-3) { v in Ops.layerNorm(v[0], weight: w, bias: b, eps: 1e-6) }
    }

    @Test mutating func activations() {
        let x = rng.tensor([3, 11], scale: 2)
        checkGradients([x]) { v in Ops.silu(v[0]) }
        checkGradients([x]) { v in Ops.gelu(v[0]) }
        checkGradients([x]) { v in Ops.quickGELU(v[0]) }
    }

    @Test mutating func softmax() {
        let x = rng.tensor([3, 2, 9], scale: 2)
        checkGradients([x]) { v in Ops.softmax(v[0]) }
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    mutating func batchedMatmul(transposeA: Bool, transposeB: Bool) {
        let a = rng.tensor(transposeA ? [2, 3, 4, 5] : [2, 3, 5, 4])
        let b = rng.tensor(transposeB ? [2, 3, 6, 4] : [2, 3, 4, 6])
        checkGradients([a, b]) { v in Ops.matmul(v[0], v[1], transposeA: transposeA, transposeB: transposeB) }
    }

    @Test mutating func matmulSharedRightMatrix() {
        let a = rng.tensor([2, 3, 5]), b = rng.tensor([5, 4])
        checkGradients([a, b]) { v in Ops.matmul(v[0], v[1]) }
    }

    @Test mutating func shapeOps() {
        let x = rng.tensor([2, 3, 4])
        checkGradients([x]) { v in Ops.permute(v[0], [2, 0, 1]) }
        checkGradients([x]) { v in Ops.transpose(v[0], 1, 2) }
        checkGradients([x]) { v in Ops.reshape(v[0], [6, 4]) }
        checkGradients([x]) { v in Ops.slice(v[0], axis: 1, 1..<3) }
        let y = rng.tensor([2, 2, 4])
        checkGradients([x, y]) { v in Ops.concat([v[0], v[1]], axis: 1) }
    }

    @Test mutating func broadcastingArithmetic() {
        let a = rng.tensor([2, 3, 4]), b = rng.tensor([3, 1]), c = rng.tensor([2, 3, 4])
        checkGradients([a, b]) { v in v[0] + v[1] }
        checkGradients([a, b]) { v in v[0] - v[1] }
        checkGradients([a, b]) { v in v[0] * v[1] }
        checkGradients([a, c]) { v in v[0] * v[1] }
        checkGradients([a]) { v in v[0] * 0.7 }
        let s = rng.tensor([2, 3, 1]), t = rng.tensor([2, 3, 1])
        checkGradients([a, s, t]) { v in Ops.scaleShift(v[0], scale: v[1], shift: v[2]) }
    }

    @Test(arguments: [true, false])
    mutating func qkvAttention(legacyOrder: Bool) {
        let qkv = rng.tensor([2, 3 * 2 * 4, 5])
        checkGradients([qkv]) { v in Ops.qkvAttention(v[0], heads: 2, legacyOrder: legacyOrder) }
    }

    @Test mutating func resampling() {
        let x = rng.tensor([2, 3, 4, 6])
        checkGradients([x]) { v in Ops.upsampleNearest2x(v[0]) }
        checkGradients([x]) { v in Ops.avgPool2x2(v[0]) }
    }

    @Test mutating func reductions() {
        let a = rng.tensor([2, 3, 4]), b = rng.tensor([2, 3, 4])
        checkGradients([a]) { v in Ops.sum(v[0]) }
        checkGradients([a]) { v in Ops.mean(v[0]) }
        checkGradients([a]) { v in Ops.mean(v[0], axis: 1) }
        checkGradients([a, b]) { v in Ops.mse(v[0], v[1]) }
    }

    @Test mutating func checkpointedBlock() {
        let x = rng.tensor([1, 2, 5, 5]), y = rng.tensor([1, 2, 5, 5]), w = rng.tensor([3, 4, 3, 3], scale: 0.3)
        checkGradients([x, y]) { v in
            Ops.checkpoint(v) { u in Ops.silu(Ops.conv2d(Ops.concat(u, axis: 1), weight: w, padding: 1)) }
        }
    }

    @Test func constantsAreNotRecorded() {
        let tape = Tape()
        let x = tape.watch(Tensor(shape: [1, 2], scalars: [1, 2]))
        let c = Variable(Tensor(shape: [1, 2], scalars: [3, 4]))
        let y = Ops.silu(c) * c
        #expect(!y.requiresGradient)
        #expect(tape.nodes.count == 1)
        let z = x * y
        #expect(z.requiresGradient)
        let g = tape.gradients(of: z, cotangent: Tensor(shape: [1, 2], repeating: 1), wrt: [x])
        #expect(g[0].scalars == y.value.scalars)
    }

    /// A recorded op's activations live exactly as long as its backward closure: released once
    /// `gradients` has run that op, and never kept for ops whose inputs need no gradient.
    @Test func activationsAreReleasedAfterBackward() {
        weak var captured: TensorStorage?
        let tape = Tape()
        let x = tape.watch(Tensor(shape: [4], scalars: [1, -2, 3, -4]))
        var y: Variable? = x * 2  // the product is captured by silu's backward only
        captured = y!.value.storage
        let z = Ops.silu(y!)
        y = nil
        #expect(captured != nil, "silu's backward needs its input")
        _ = tape.gradients(of: z, cotangent: Tensor(shape: [4], repeating: 1), wrt: [x])
        #expect(captured == nil, "the input of silu outlived the backward pass")
        #expect(tape.nodes.isEmpty)

        weak var constantInput: TensorStorage?
        var c: Variable? = Variable(Tensor(shape: [4], repeating: 1))
        constantInput = c!.value.storage
        let d = Ops.silu(c!)
        c = nil
        #expect(constantInput == nil && !d.requiresGradient, "an op on constants kept its input alive")
    }
}
