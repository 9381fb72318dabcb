/// A seeded, counter-based random number generator (Philox4x32-10, Salmon et al., SC'11 / Random123).
///
/// Why Philox: its output is a pure function of (key, counter) built from 32-bit integer multiplies,
/// XORs and additions, so the same seed gives the same bits on every platform and compiler, and
/// independent streams need no state beyond their counter. The 64-bit seed is the key; `stream`
/// fills the upper half of the 128-bit counter, so different streams of one seed never overlap.
///
/// `next()` returns consecutive 64-bit words: block n gives words (w0 | w1 << 32), (w2 | w3 << 32).
/// Floating-point draws built on it live in `RandomTensors.swift`.
public struct PhiloxGenerator: RandomNumberGenerator, Sendable {
    /// The 2×32-bit key derived from the seed.
    public let key: SIMD2<UInt32>
    /// The stream number (upper 64 bits of the counter).
    public let stream: UInt64
    /// Index of the next 128-bit block to produce (lower 64 bits of the counter).
    public private(set) var blockIndex: UInt64 = 0
    private var buffer = SIMD4<UInt32>()
    private var bufferedWords = 0  // 64-bit words still unread in `buffer` (0, 1 or 2)

    /// A generator for `seed`; `stream` selects an independent sequence for the same seed.
    public init(seed: UInt64, stream: UInt64 = 0) {
        key = SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        self.stream = stream
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        if bufferedWords == 0 {
            let counter = SIMD4<UInt32>(
                UInt32(truncatingIfNeeded: blockIndex), UInt32(truncatingIfNeeded: blockIndex >> 32),
                UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32))
            buffer = PhiloxGenerator.block(counter: counter, key: key)
            blockIndex &+= 1
            bufferedWords = 2
        }
        let low = bufferedWords == 2 ? 0 : 2
        bufferedWords -= 1
        return UInt64(buffer[low]) | UInt64(buffer[low + 1]) << 32
    }

    /// The Philox4x32-10 bijection: 10 rounds over a 128-bit counter under a 64-bit key.
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        // Constants from the Random123 definition of Philox4x32.
        let m0: UInt64 = 0xD251_1F53, m1: UInt64 = 0xCD9E_8D57
        let w0: UInt32 = 0x9E37_79B9, w1: UInt32 = 0xBB67_AE85
        var c = counter, k = key
        for round in 0..<10 {
            if round > 0 { k &+= SIMD2(w0, w1) }
            let p0 = m0 &* UInt64(c[0]), p1 = m1 &* UInt64(c[2])
            c = SIMD4(
                UInt32(truncatingIfNeeded: p1 >> 32) ^ c[1] ^ k[0], UInt32(truncatingIfNeeded: p1),
                UInt32(truncatingIfNeeded: p0 >> 32) ^ c[3] ^ k[1], UInt32(truncatingIfNeeded: p0))
        }
        return c
    }
}
