import Foundation
import Testing
@_spi(Benchmarks) @testable import Engine

/// Forward kernels against naive float64 references (the gradient tests only prove consistency
/// between forward and backward).
@Suite struct KernelTests {
    var rng = TestRandom(seed: 3)

    /// Large enough to be split across threads, along n (wide) and along m (tall).
    @Test(arguments: [(96, 300, 70), (400, 40, 90)], [(false, false), (true, false), (false, true), (true, true)])
    mutating func gemmMatchesNaive(size: (Int, Int, Int), transpose: (Bool, Bool)) {
        let (m, n, k) = size
        let a = rng.tensor(transpose.0 ? [k, m] : [m, k]), b = rng.tensor(transpose.1 ? [n, k] : [k, n])
        let c = Ops.matmul(Variable(a), Variable(b), transposeA: transpose.0, transposeB: transpose.1).value
        let pa = a.scalars, pb = b.scalars
        var reference = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transpose.0 ? pa[p * m + i] : pa[i * k + p]
                    let y = transpose.1 ? pb[j * k + p] : pb[p * n + j]
                    s += Double(x) * Double(y)
                }
                reference[i * n + j] = Float(s)
            }
        }
        #expect(relativeL2(c.scalars, reference) < 1e-6)
    }

    /// Direct convolution in float64.
    func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor, stride: Int, padding: Int) -> [Float] {
        let (n, ci, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (co, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + 2 * padding - kh) / stride + 1, ow = (wd + 2 * padding - kw) / stride + 1
        let px = x.scalars, pw = w.scalars, pb = b.scalars
        var out = [Float](repeating: 0, count: n * co * oh * ow)
        for bi in 0..<n { for o in 0..<co { for y in 0..<oh { for xx in 0..<ow {
            var s = Double(pb[o])
            for c in 0..<ci { for ky in 0..<kh { for kx in 0..<kw {
                let iy = y * stride - padding + ky, ix = xx * stride - padding + kx
                if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                    s += Double(px[((bi * ci + c) * h + iy) * wd + ix]) * Double(pw[((o * ci + c) * kh + ky) * kw + kx])
                }
            }}}
            out[((bi * co + o) * oh + y) * ow + xx] = Float(s)
        }}}}
        return out
    }

    /// The tiled im2col path (several tiles, tiles of one row; small images and the per-thread row
    /// bands of large ones) equals the direct definition, and its input gradient equals the adjoint
    /// computed through the naive forward's linearity.
    @Test(arguments: [(1, 1), (2, 1), (1, 0)], [(64, 9, 7), (400, 9, 7), (1 << 20, 9, 7), (500, 70, 40), (1 << 20, 70, 40)])
    mutating func convolutionTilesMatchNaive(geometry: (Int, Int), tiling: (Int, Int, Int)) {
        let (stride, padding) = geometry
        let (tileFloats, h, wd) = tiling
        let x = rng.tensor([2, 5, h, wd]), w = rng.tensor([6, 5, 3, 3]), b = rng.tensor([6])
        let g = ConvGeometry(batch: 2, inChannels: 5, height: h, width: wd, outChannels: 6, kernelH: 3, kernelW: 3, stride: stride, padding: padding)
        let out = Tensor(uninitializedShape: [2, 6, g.outHeight, g.outWidth])
        ConvolutionKernel.forward(g, input: x.readPointer, weight: w.readPointer, bias: b.readPointer, output: out.mutablePointer, tileFloats: tileFloats)
        #expect(relativeL2(out.scalars, naiveConv(x, w, b, stride: stride, padding: padding)) < 1e-6)

        // <conv(x), dy> = <x, convᵀ(dy)> for the bias-free map.
        let dy = rng.tensor(out.shape)
        let dx = Tensor(uninitializedShape: x.shape)
        ConvolutionKernel.backwardInput(g, gradOutput: dy.readPointer, weight: w.readPointer, gradInput: dx.mutablePointer, tileFloats: tileFloats)
        let y0 = naiveConv(x, w, Tensor.zeros([6]), stride: stride, padding: padding)
        let lhs = zip(y0, dy.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x.scalars, dx.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(lhs - rhs) <= 1e-5 * max(1, abs(lhs)))
    }

    /// Shifted-tap convolutions (the forward pass over wide stride-1 rows) equal the direct definition for
    /// several kernel sizes and paddings, over several tiles or one, with bands of rows per thread (tall) or
    /// one band (short); the input gradient at these shapes is the forward map's adjoint.
    @Test(arguments: [(3, 1), (3, 0), (5, 2), (5, 1)], [(400, 3), (1 << 20, 3), (3000, 24), (1 << 20, 24)])
    mutating func shiftedTapConvolutionMatchesNaive(kernel: (Int, Int), tiling: (Int, Int)) {
        let (size, padding) = kernel
        let (tileFloats, h) = tiling
        let wd = 64 * (size - 1) + 3
        let x = rng.tensor([2, 5, h + size - 1, wd]), w = rng.tensor([6, 5, size, size]), b = rng.tensor([6])
        let g = ConvGeometry(
            batch: 2, inChannels: 5, height: h + size - 1, width: wd, outChannels: 6, kernelH: size, kernelW: size,
            stride: 1, padding: padding)
        #expect(ConvolutionKernel.usesShiftedTaps(g))
        let out = Tensor(uninitializedShape: [2, 6, g.outHeight, g.outWidth])
        ConvolutionKernel.forward(g, input: x.readPointer, weight: w.readPointer, bias: b.readPointer, output: out.mutablePointer, tileFloats: tileFloats)
        #expect(relativeL2(out.scalars, naiveConv(x, w, b, stride: 1, padding: padding)) < 1e-6)

        let dy = rng.tensor(out.shape)
        let dx = Tensor(uninitializedShape: x.shape)
        ConvolutionKernel.backwardInput(g, gradOutput: dy.readPointer, weight: w.readPointer, gradInput: dx.mutablePointer, tileFloats: tileFloats)
        let y0 = naiveConv(x, w, Tensor.zeros([6]), stride: 1, padding: padding)
        let lhs = zip(y0, dy.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x.scalars, dx.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(lhs - rhs) <= 1e-5 * max(1, abs(lhs)))
    }

    /// Both Winograd forms equal the direct definition, at sizes that are and are not multiples of the tile
    /// (the last row or column of tiles cropped), in one chunk or several (`chunkFloats`), with products cut
    /// into several parts (over 256 tiles); the input gradient equals the direct form's and is the forward
    /// map's adjoint. Measured relative L2 here: F(2x2, 3x3) 1.3-1.5e-7 (exact constants, the direct form's
    /// error), F(4x4, 3x3) 7.2-8.5e-7 (forward and gradient alike); the bounds leave about 2x of that.
    @Test(arguments: [WinogradTile.two, .four], [33, 32, 70].flatMap { h in [Int.max / 64, 20_000].map { (h, $0) } })
    mutating func winogradConvolutionMatchesNaive(tile: WinogradTile, shape: (Int, Int)) {
        let (h, chunkFloats) = shape
        let wd = [33: 31, 32: 34, 70: 42][h]!
        let bound: Double = tile == .two ? 1e-6 : 2e-6
        let x = rng.tensor([2, 5, h, wd]), w = rng.tensor([6, 5, 3, 3]), b = rng.tensor([6])
        let g = ConvGeometry(batch: 2, inChannels: 5, height: h, width: wd, outChannels: 6, kernelH: 3, kernelW: 3, stride: 1, padding: 1)
        let out = Tensor(uninitializedShape: [2, 6, h, wd])
        ConvolutionKernel.winogradForward(
            g, tile: tile, input: x.readPointer, weight: w.readPointer, bias: b.readPointer, output: out.mutablePointer, chunkFloats: chunkFloats)
        let error = relativeL2(out.scalars, naiveConv(x, w, b, stride: 1, padding: 1))
        #expect(error < bound, "relative L2 \(error)")

        let dy = rng.tensor(out.shape)
        let dx = Tensor(uninitializedShape: x.shape), direct = Tensor(uninitializedShape: x.shape)
        ConvolutionKernel.winogradBackwardInput(
            g, tile: tile, gradOutput: dy.readPointer, weight: w.readPointer, gradInput: dx.mutablePointer, chunkFloats: chunkFloats)
        ConvolutionKernel.backwardInput(g, gradOutput: dy.readPointer, weight: w.readPointer, gradInput: direct.mutablePointer)
        let gradientError = relativeL2(dx.scalars, direct.scalars)
        #expect(gradientError < bound, "relative L2 \(gradientError)")
        let y0 = naiveConv(x, w, Tensor.zeros([6]), stride: 1, padding: 1)
        let lhs = zip(y0, dy.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        let rhs = zip(x.scalars, dx.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(lhs - rhs) <= 1e-5 * max(1, abs(lhs)))
    }

    /// The Winograd forms cut their work by the geometry alone, so any thread count gives the same bits,
    /// whatever the GEMM kernels do with a cut product (unlike the direct forms, this holds with AVX2 kernels too).
    @Test(arguments: [WinogradTile.two, .four])
    mutating func winogradConvolutionHasTheSameBitsOnAnyThreadCount(tile: WinogradTile) {
        let x = rng.tensor([1, 24, 45, 50]), w = rng.tensor([40, 24, 3, 3]), b = rng.tensor([40]), dy = rng.tensor([1, 40, 45, 50])
        let g = ConvGeometry(batch: 1, inChannels: 24, height: 45, width: 50, outChannels: 40, kernelH: 3, kernelW: 3, stride: 1, padding: 1)
        func run() -> [Float] {
            let out = Tensor(uninitializedShape: [1, 40, 45, 50]), dx = Tensor(uninitializedShape: x.shape)
            ConvolutionKernel.winogradForward(
                g, tile: tile, input: x.readPointer, weight: w.readPointer, bias: b.readPointer, output: out.mutablePointer, chunkFloats: 150_000)
            ConvolutionKernel.winogradBackwardInput(
                g, tile: tile, gradOutput: dy.readPointer, weight: w.readPointer, gradInput: dx.mutablePointer, chunkFloats: 150_000)
            return out.scalars + dx.scalars
        }
        let serial = EngineThreads.with(1, run)
        for threads in [2, 3, 16] {
            let cut = EngineThreads.with(threads, run)
            #expect(cut == serial, "\(threads) threads: \(zip(cut, serial).filter { $0 != $1 }.count) values differ")
        }
    }

    /// Which convolutions take a Winograd form: 3x3, stride 1, padding 1, fp32; F(4x4, 3x3) from 256 tiles of
    /// 4x4 (64x64), F(2x2, 3x3) from 256 tiles of 2x2 (32x32); and only those whose network allows it
    /// (`Ops.conv2d`'s `allowsWinograd`), forward and backward alike.
    @Test mutating func winogradOnlyForPaddedStrideOne3x3AtLeast32x32() throws {
        func geometry(_ size: Int, kernel: Int = 3, stride: Int = 1, padding: Int = 1) -> ConvGeometry {
            ConvGeometry(batch: 1, inChannels: 4, height: size, width: size, outChannels: 4, kernelH: kernel, kernelW: kernel, stride: stride, padding: padding)
        }
        #expect(ConvolutionKernel.winogradTile(geometry(64)) == .four)
        #expect(ConvolutionKernel.winogradTile(geometry(61)) == .four)
        #expect(ConvolutionKernel.winogradTile(geometry(60)) == .two)
        #expect(ConvolutionKernel.winogradTile(geometry(32)) == .two)
        #expect(ConvolutionKernel.winogradTile(geometry(31)) == .two)
        #expect(ConvolutionKernel.winogradTile(geometry(30)) == nil)
        #expect(ConvolutionKernel.winogradTile(geometry(64, padding: 0)) == nil)
        #expect(ConvolutionKernel.winogradTile(geometry(64, stride: 2)) == nil)
        #expect(ConvolutionKernel.winogradTile(geometry(64, kernel: 5, padding: 2)) == nil)
        #expect(ConvolutionKernel.winogradTile(geometry(64, kernel: 1, padding: 0)) == nil)
        #expect(ConvolutionBenchmark.withoutWinograd { ConvolutionKernel.winogradTile(geometry(64)) } == nil)
        #expect(ConvolutionBenchmark.withWinogradTile2x2 { ConvolutionKernel.winogradTile(geometry(64)) } == .two)
        #expect(ConvolutionBenchmark.withUnfoldedConvolutions { ConvolutionKernel.winogradTile(geometry(64)) } == nil)
        if MatmulPrecision.bf16.isSupported {
            #expect(try MatmulPrecision.bf16.withEngine { ConvolutionKernel.winogradTile(geometry(64)) } == nil)
        }

        // Through the op: an allowed convolution has its form's bits, the other the direct form's.
        for (size, tile) in [(40, WinogradTile.two), (64, .four)] {
            let x = rng.tensor([1, 4, size, size]), w = rng.tensor([4, 4, 3, 3]), dy = rng.tensor([1, 4, size, size])
            let g = geometry(size)
            let winograd = Tensor(uninitializedShape: x.shape), direct = Tensor(uninitializedShape: x.shape)
            ConvolutionKernel.winogradForward(g, tile: tile, input: x.readPointer, weight: w.readPointer, bias: nil, output: winograd.mutablePointer)
            ConvolutionKernel.forward(g, input: x.readPointer, weight: w.readPointer, bias: nil, output: direct.mutablePointer)
            #expect(winograd.scalars != direct.scalars)
            for allows in [true, false] {
                let tape = Tape()
                let v = tape.watch(x)
                let y = Ops.conv2d(v, weight: w, padding: 1, allowsWinograd: allows)
                #expect(y.value.scalars == (allows ? winograd : direct).scalars)
                let dx = tape.gradients(of: y, cotangent: dy, wrt: [v])[0]
                let expected = Tensor(uninitializedShape: x.shape)
                if allows {
                    ConvolutionKernel.winogradBackwardInput(g, tile: tile, gradOutput: dy.readPointer, weight: w.readPointer, gradInput: expected.mutablePointer)
                } else {
                    ConvolutionKernel.backwardInput(g, gradOutput: dy.readPointer, weight: w.readPointer, gradInput: expected.mutablePointer)
                }
                #expect(dx.scalars == expected.scalars)
            }
        }
    }

    /// Narrow rows, strides above 1 and 1x1 kernels stay unfolded (or a plain product).
    @Test func shiftedTapsOnlyForWideStrideOneRows() {
        func geometry(width: Int, kernel: Int = 3, stride: Int = 1, padding: Int = 1) -> ConvGeometry {
            ConvGeometry(batch: 1, inChannels: 4, height: 8, width: width, outChannels: 4, kernelH: kernel, kernelW: kernel, stride: stride, padding: padding)
        }
        #expect(ConvolutionKernel.usesShiftedTaps(geometry(width: 256)))
        #expect(ConvolutionKernel.usesShiftedTaps(geometry(width: 128)))
        #expect(!ConvolutionKernel.usesShiftedTaps(geometry(width: 129, padding: 0)))
        #expect(!ConvolutionKernel.usesShiftedTaps(geometry(width: 64)))
        #expect(!ConvolutionKernel.usesShiftedTaps(geometry(width: 256, stride: 2)))
        #expect(!ConvolutionKernel.usesShiftedTaps(geometry(width: 256, kernel: 1, padding: 0)))
        #expect(ConvolutionBenchmark.withUnfoldedConvolutions { !ConvolutionKernel.usesShiftedTaps(geometry(width: 256)) })
    }

    @Test mutating func groupNormMatchesDefinition() {
        let x = rng.tensor([2, 4, 3, 5], scale: 3), w = rng.tensor([4]), b = rng.tensor([4])
        let y = Ops.groupNorm(Variable(x), groups: 2, weight: w, bias: b, eps: 1e-5).value.scalars
        let px = x.scalars
        var reference = [Float](repeating: 0, count: px.count)
        for n in 0..<2 { for g in 0..<2 {
            let base = (n * 4 + g * 2) * 15
            let vals = px[base..<(base + 30)].map(Double.init)
            let mean = vals.reduce(0, +) / 30
            let variance = vals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 30
            for i in 0..<30 {
                let c = g * 2 + i / 15
                reference[base + i] = Float((vals[i] - mean) / (variance + 1e-5).squareRoot() * Double(w.scalars[c]) + Double(b.scalars[c]))
            }
        }}
        #expect(relativeL2(y, reference) < 1e-6)
    }

    @Test mutating func layerNormSoftmaxActivationsMatchDefinitions() {
        let x = rng.tensor([3, 7], scale: 3), w = rng.tensor([7]), b = rng.tensor([7])
        let px = x.scalars.map(Double.init)
        var ln = [Float](), sm = [Float]()
        for r in 0..<3 {
            let row = Array(px[(r * 7)..<(r * 7 + 7)])
            let mean = row.reduce(0, +) / 7, variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 7
            ln += (0..<7).map { Float((row[$0] - mean) / (variance + 1e-6).squareRoot() * Double(w.scalars[$0]) + Double(b.scalars[$0])) }
            let e = row.map { Foundation.exp($0 - row.max()!) }
            sm += e.map { Float($0 / e.reduce(0, +)) }
        }
        #expect(relativeL2(Ops.layerNorm(Variable(x), weight: w, bias: b, eps: 1e-6).value.scalars, ln) < 1e-6)
        #expect(relativeL2(Ops.softmax(Variable(x)).value.scalars, sm) < 1e-6)
        let silu = px.map { Float($0 / (1 + Foundation.exp(-$0))) }
        let gelu = px.map { Float(0.5 * $0 * (1 + erf($0 / 2.0.squareRoot()))) }
        let quick = px.map { Float($0 / (1 + Foundation.exp(-1.702 * $0))) }
        #expect(relativeL2(Ops.silu(Variable(x)).value.scalars, silu) < 1e-6)
        #expect(relativeL2(Ops.gelu(Variable(x)).value.scalars, gelu) < 1e-6)
        #expect(relativeL2(Ops.quickGELU(Variable(x)).value.scalars, quick) < 1e-6)
    }

    @Test func vectorExpIsAccurateOverTheFloatRange() {
        var worst: Double = 0
        var x: Float = -87
        while x < 88 {
            let v = VectorMath.exp(SIMD8<Float>(repeating: x))[0]
            worst = max(worst, abs(Double(v) - Foundation.exp(Double(x))) / Foundation.exp(Double(x)))
            x += 0.37
        }
        #expect(worst < 5e-7)
        var worstErf: Double = 0
        x = -6
        while x < 6 {
            worstErf = max(worstErf, abs(Double(VectorMath.erf(SIMD8<Float>(repeating: x))[0]) - erf(Double(x))))
            x += 0.013
        }
        #expect(worstErf < 4e-7)  // 1.5e-7 formula error plus float32 evaluation
        #expect(VectorMath.exp(SIMD8<Float>(repeating: -1000))[0] >= 0)
        #expect(VectorMath.exp(SIMD8<Float>(repeating: 1000))[0].isFinite)
    }

    /// Legacy order: head n owns channels [n·3ch, (n+1)·3ch) as q, k, v; checked against matmul/softmax.
    @Test mutating func legacyAttentionLayout() {
        let (heads, ch, t) = (2, 3, 5)
        let qkv = rng.tensor([1, 3 * heads * ch, t])
        let out = Ops.qkvAttention(Variable(qkv), heads: heads, legacyOrder: true).value.scalars
        var reference: [Float] = []
        for n in 0..<heads {
            let q = Ops.sliceTensor(qkv, axis: 1, (3 * ch * n)..<(3 * ch * n + ch)).reshaped([ch, t])
            let k = Ops.sliceTensor(qkv, axis: 1, (3 * ch * n + ch)..<(3 * ch * n + 2 * ch)).reshaped([ch, t])
            let v = Ops.sliceTensor(qkv, axis: 1, (3 * ch * n + 2 * ch)..<(3 * ch * n + 3 * ch)).reshaped([ch, t])
            let w = Ops.softmax(Ops.matmul(Variable(q), Variable(k), transposeA: true) * (1 / Float(ch).squareRoot()))
            reference += Ops.matmul(Variable(v), w, transposeB: true).value.scalars
        }
        #expect(relativeL2(out, reference) < 1e-6)
    }
}
