import Foundation
import Testing
@testable import Engine

/// The seeded generator behind diffusion noise: Philox4x32-10 bits, uniform and normal draws.
@Suite struct DiffusionRandomTests {
    /// Random123's published known-answer vectors for Philox4x32-10 (`kat_vectors`).
    @Test func philoxMatchesRandom123KnownAnswers() {
        let vectors: [(SIMD4<UInt32>, SIMD2<UInt32>, SIMD4<UInt32>)] = [
            (SIMD4(0, 0, 0, 0), SIMD2(0, 0), SIMD4(0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8)),
            (
                SIMD4(repeating: 0xFFFF_FFFF), SIMD2(repeating: 0xFFFF_FFFF),
                SIMD4(0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD)
            ),
            (
                SIMD4(0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344), SIMD2(0xA409_3822, 0x299F_31D0),
                SIMD4(0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1)
            ),
        ]
        for (counter, key, expected) in vectors {
            #expect(PhiloxGenerator.block(counter: counter, key: key) == expected)
        }
    }

    @Test func wordsFollowTheCounterInOrder() {
        // Seed 0, stream 0: block 0 is the all-zero known answer; its words pair up low word first.
        var rng = PhiloxGenerator(seed: 0)
        #expect(rng.next() == 0xE169_C58D_6627_E8D5)
        #expect(rng.next() == 0x9B00_DBD8_BC57_AC4C)
        #expect(rng.blockIndex == 1)
        let block1 = PhiloxGenerator.block(counter: SIMD4(1, 0, 0, 0), key: SIMD2(0, 0))
        #expect(rng.next() == UInt64(block1[0]) | UInt64(block1[1]) << 32)
    }

    @Test func sameSeedGivesSameTensorsAndOtherSeedsOrStreamsDiffer() {
        var a = PhiloxGenerator(seed: 42), b = PhiloxGenerator(seed: 42)
        let x = a.normalTensor([2, 3, 8, 8]), y = b.normalTensor([2, 3, 8, 8])
        #expect(x.scalars == y.scalars)
        #expect(a.uniformTensor([17]).scalars == b.uniformTensor([17]).scalars)
        var c = PhiloxGenerator(seed: 43), d = PhiloxGenerator(seed: 42, stream: 1)
        #expect(c.normalTensor([2, 3, 8, 8]).scalars != x.scalars)
        #expect(d.normalTensor([2, 3, 8, 8]).scalars != x.scalars)
        // The generator moves on: a second draw differs from the first.
        #expect(a.normalTensor([2, 3, 8, 8]).scalars != x.scalars)
    }

    /// The first draws of one seed, computed by an independent float64 reference of the same algorithm
    /// (Philox4x32-10, 53-bit uniforms, Marsaglia polar with the platform's log) and rounded to float32.
    /// Bit equality here is what "same seed, same numbers on every platform" means.
    @Test func firstDrawsMatchAnIndependentReference() {
        var rng = PhiloxGenerator(seed: 20_230_101)
        let normals = rng.normalTensor([8]).scalars.map(\.bitPattern)
        #expect(normals == [0xBD61_57B4, 0x3D6B_CCAE, 0xBF9C_0451, 0xBFCC_39EB, 0xBEDA_790A, 0xBFD5_A371, 0x3E8D_94F4, 0xBF09_CBE5])
        var uniforms = PhiloxGenerator(seed: 20_230_101, stream: 7)
        #expect(uniforms.uniformTensor([4]).scalars == [0.7607278227806091, 0.8319809436798096, 0.40227437019348145, 0.2545621395111084])
    }

    @Test func normalAndUniformMoments() {
        var rng = PhiloxGenerator(seed: 7)
        let n = 200_000
        let normals = rng.normalTensor([n]).scalars.map(Double.init)
        let mean = normals.reduce(0, +) / Double(n)
        let variance = normals.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        let fourth = normals.reduce(0) { $0 + $1 * $1 * $1 * $1 } / Double(n)
        // Standard errors: mean 0.0022, variance 0.0032, fourth moment 0.022.
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.015)
        #expect(abs(fourth - 3) < 0.1)
        let inOneSigma = Double(normals.filter { abs($0) < 1 }.count) / Double(n)
        #expect(abs(inOneSigma - 0.682689) < 0.005)

        let uniforms = rng.uniformTensor([n]).scalars
        #expect(uniforms.allSatisfy { $0 >= 0 && $0 < 1 })
        let uMean = uniforms.reduce(0) { $0 + Double($1) } / Double(n)
        #expect(abs(uMean - 0.5) < 0.003)
    }

    @Test func oddCountsAndEmptyShapes() {
        var a = PhiloxGenerator(seed: 3), b = PhiloxGenerator(seed: 3)
        let odd = a.normalTensor([5]).scalars, even = b.normalTensor([6]).scalars
        #expect(odd == Array(even.prefix(5)))
        #expect(a.normalTensor([0, 3]).count == 0)
    }

    @Test func portableLogAgreesWithLibm() {
        var rng = PhiloxGenerator(seed: 11)
        var worst = 0.0
        for _ in 0..<20_000 {
            // Arguments spanning the polar method's range (0, 1) over many binades, and a few above 1.
            let x = rng.nextUniformDouble() * pow(2, -Double(rng.next() % 60)) + 1e-300
            for value in [x, 1 / x] {
                let ref = Foundation.log(value)
                worst = max(worst, abs(portableLog(value) - ref) / max(abs(ref), 1e-300))
            }
        }
        #expect(worst < 1e-15, "worst relative error \(worst)")
        #expect(portableLog(1) == 0)
        #expect(abs(portableLog(2) - 0.6931471805599453) < 1e-16)
    }
}

/// The random-access normal field the samplers draw their noise from.
@Suite struct NormalFieldTests {
    /// Any slice, from an even or odd start, equals the same slice of the whole field.
    @Test func slicesEqualTheWholeField() {
        let field = NormalField(key: 0x1234_5678_9ABC_DEF0)
        let whole = field.tensor([1001]).scalars
        for (start, count) in [(0, 1), (1, 1), (3, 10), (500, 501), (999, 2), (7, 0)] {
            var part = [Float](repeating: .nan, count: count)
            part.withUnsafeMutableBufferPointer { field.fill($0, from: start) }
            #expect(part == Array(whole[start..<(start + count)]), "slice \(start)+\(count)")
        }
        #expect(field[17] == whole[17] && field[18] == whole[18])
    }

    /// Standard normal moments (n = 2·10⁵: the mean's standard error is 0.0022) and independence
    /// of neighbours; other keys give other values.
    @Test func valuesAreStandardNormal() {
        let n = 200_000
        let v = NormalField(key: 7).tensor([n]).scalars.map(Double.init)
        let mean = v.reduce(0, +) / Double(n)
        let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        let lag1 = zip(v, v.dropFirst()).map { $0 * $1 }.reduce(0, +) / Double(n - 1)
        let tail = Double(v.filter { abs($0) > 1.959964 }.count) / Double(n)
        #expect(abs(mean) < 0.012)
        #expect(abs(variance - 1) < 0.015)
        #expect(abs(lag1) < 0.012)
        #expect(abs(tail - 0.05) < 0.003)
        #expect(NormalField(key: 8).tensor([16]).scalars != NormalField(key: 7).tensor([16]).scalars)
    }

    /// A field takes exactly one 64-bit draw from its generator.
    @Test func aFieldTakesOneDraw() {
        var a = PhiloxGenerator(seed: 3), b = PhiloxGenerator(seed: 3)
        let field = a.normalField()
        #expect(field == NormalField(key: b.next()))
        #expect(a.next() == b.next())
    }
}
