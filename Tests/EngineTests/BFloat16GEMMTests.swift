import CBFloat16
import Foundation
import Testing
@testable import Engine

/// The AVX512-BF16 GEMM behind `MatmulPrecision.bf16`: exact against a float64 product of the
/// bf16-rounded operands on every layout it packs, and the precision reaching the engine's threads.
@Suite struct BFloat16GEMMTests {
    static let bf16 = MatmulPrecision.bf16.isSupported

    /// Round to nearest, ties to even, as VCVTNE2PS2BF16 (finite values).
    static func rounded(_ x: Float) -> Float {
        let u = x.bitPattern
        return Float(bitPattern: (u &+ 0x7fff &+ ((u >> 16) & 1)) & 0xffff_0000)
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var rng = RandomWeightArchive.Generator(seed: seed)
        return (0..<count).map { _ in rng.uniform(scale: 1) }
    }

    @Test func theCPUCheckAgreesWithTheKernelsFlags() {
        // cpuid (the kernel's check) and /proc/cpuinfo (what Linux enabled) must tell the same story.
        let flags = BLASCore.Features.current
        if !flags.isEmpty {
            #expect(sf_bf16_gemm_supported() == flags.isSuperset(of: [.avx512, .avx512BF16]))
        }
        #expect(MatmulPrecision.fp32.isSupported)
    }

    @Test(.enabled(if: !bf16)) func withoutAVX512BF16Bf16IsRefusedAndNothingRuns() {
        var ran = false
        #expect(throws: MatmulPrecisionError.unsupported(.bf16)) { try MatmulPrecision.bf16.withEngine { ran = true } }
        #expect(!ran)
        #expect("\(MatmulPrecisionError.unsupported(.bf16))".contains("AVX512-BF16"))
    }

    /// (m, n, k): single tiles, edges of every tile and k block (odd k, k past 256), padded panels.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (12, 32, 2), (13, 33, 3), (5, 7, 300), (100, 70, 257), (24, 64, 513), (37, 129, 1000), (130, 250, 77),
    ]

    @Test(.enabled(if: bf16), arguments: 0..<4) func matchesTheRoundedProductOnEveryLayout(layout: Int) throws {
        let (ta, tb) = (layout & 1 != 0, layout & 2 != 0)
        for (index, (m, n, k)) in Self.shapes.enumerated() {
            for beta: Float in [0, 0.3] {
                // Row strides wider than the matrices: packing must read only what belongs to them.
                let lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2
                let a = Self.random((ta ? k : m) * lda, seed: UInt64(10 + index))
                let b = Self.random((tb ? n : k) * ldb, seed: UInt64(20 + index))
                let c0 = Self.random(m * ldc, seed: UInt64(30 + index))
                var c = c0
                try MatmulPrecision.bf16.withEngine {
                    GEMM.multiply(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb,
                        beta: beta, c: &c, ldc: ldc, threads: 1)
                }
                var expected = c0, exact = c0
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0, unrounded = 0.0
                        for q in 0..<k {
                            let x = ta ? a[q * lda + i] : a[i * lda + q], y = tb ? b[j * ldb + q] : b[q * ldb + j]
                            sum += Double(Self.rounded(x)) * Double(Self.rounded(y))
                            unrounded += Double(x) * Double(y)
                        }
                        expected[i * ldc + j] = Float(0.7 * sum + Double(beta) * Double(c0[i * ldc + j]))
                        exact[i * ldc + j] = Float(0.7 * unrounded + Double(beta) * Double(c0[i * ldc + j]))
                    }
                }
                // Only the float32 summation order differs from the rounded product.
                let error = relativeL2(c, expected)
                #expect(error < 2e-6, "m \(m) n \(n) k \(k) transposes \(ta) \(tb) beta \(beta): \(error)")
                // Columns past n are not C's: untouched.
                for i in 0..<m { for j in n..<ldc { #expect(c[i * ldc + j] == c0[i * ldc + j]) } }
                // And the operands were rounded: bf16's 8-bit significand shows against the exact product.
                if k >= 64 { #expect(relativeL2(c, exact) > 1e-4) }
            }
        }
    }

    @Test(.enabled(if: bf16)) func theEnginesThreadsRunInTheCallersPrecision() throws {
        // A convolution large enough to run in bands on the engine's workers (Parallel) and a GEMM split
        // across them: both must match bf16-rounded operands, not float32.
        let threads = max(2, EngineThreads.current)
        let x = Tensor(shape: [1, 32, 64, 64], scalars: Self.random(32 * 64 * 64, seed: 1))
        let w = Tensor(shape: [48, 32, 3, 3], scalars: Self.random(48 * 32 * 9, seed: 2).map { $0 * 0.1 })
        let roundedX = Tensor(shape: x.shape, scalars: x.scalars.map(Self.rounded))
        let roundedW = Tensor(shape: w.shape, scalars: w.scalars.map(Self.rounded))
        let reference = Ops.conv2d(Variable(roundedX), weight: roundedW, bias: nil, padding: 1).value.scalars
        let fp32 = Ops.conv2d(Variable(x), weight: w, bias: nil, padding: 1).value.scalars
        let bf16 = try MatmulPrecision.bf16.withEngine { Ops.conv2d(Variable(x), weight: w, bias: nil, padding: 1).value.scalars }
        #expect(relativeL2(bf16, reference) < 2e-6)
        #expect(relativeL2(fp32, reference) > 1e-4, "the inputs must show bf16 rounding")

        let (m, n, k) = (96, 512, 256)
        let a = Self.random(m * k, seed: 3), b = Self.random(k * n, seed: 4)
        var c = [Float](repeating: 0, count: m * n), expected = c
        try MatmulPrecision.bf16.withEngine {
            GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, threads: threads)
        }
        GEMM.multiply(m: m, n: n, k: k, a: a.map(Self.rounded), lda: k, b: b.map(Self.rounded), ldb: n, c: &expected, ldc: n, threads: 1)
        #expect(relativeL2(c, expected) < 2e-6)
        #expect(MatmulPrecision.current == .fp32, "the precision ends with its scope")
    }
}
