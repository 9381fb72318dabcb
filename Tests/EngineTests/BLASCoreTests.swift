import Testing
@testable import Engine

/// The OpenBLAS kernel choice for CPUs the installed OpenBLAS may not know.
@Suite struct BLASCoreTests {
    @Test func featuresFromCPUFlags() {
        let emeraldRapids: Set<String> = ["sse4_2", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"]
        #expect(BLASCore.Features(flags: emeraldRapids) == [.avx2FMA, .avx512, .avx512BF16, .amx])
        #expect(BLASCore.Features(flags: ["avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16"]) == [.avx2FMA, .avx512, .avx512BF16])
        #expect(BLASCore.Features(flags: ["avx2", "fma", "avx512f"]) == [.avx2FMA], "AVX-512 F alone is not SkylakeX's set")
        #expect(BLASCore.Features(flags: ["sse2", "avx"]) == [])
    }

    @Test func aGenericChoiceIsReplacedByWhatTheCPUCanRun() {
        let all: BLASCore.Features = [.avx2FMA, .avx512, .avx512BF16, .amx]
        // Debian's OpenBLAS 0.3.21 on Emerald Rapids (family 6 model 207) falls back to a generic kernel.
        #expect(BLASCore.choice(features: all, openBLASCore: "Prescott") == "SapphireRapids")
        #expect(BLASCore.choice(features: all, openBLASCore: "Haswell") == "SapphireRapids")
        #expect(BLASCore.choice(features: [.avx2FMA, .avx512, .avx512BF16], openBLASCore: "Haswell") == "Cooperlake")
        #expect(BLASCore.choice(features: [.avx2FMA, .avx512], openBLASCore: "Sandybridge") == "SkylakeX")
        #expect(BLASCore.choice(features: [.avx2FMA], openBLASCore: "Prescott") == "Haswell")
    }

    @Test func aChoiceAsGoodOrUnknownIsKept() {
        #expect(BLASCore.choice(features: [.avx2FMA, .avx512, .avx512BF16], openBLASCore: "Cooperlake") == nil)  // Zen 4 here
        #expect(BLASCore.choice(features: [.avx2FMA, .avx512], openBLASCore: "SkylakeX") == nil)
        #expect(BLASCore.choice(features: [.avx2FMA], openBLASCore: "Zen") == nil)
        #expect(BLASCore.choice(features: [.avx2FMA, .avx512, .avx512BF16, .amx], openBLASCore: "GraniteRapids") == nil, "a newer name is left alone")
        #expect(BLASCore.choice(features: [], openBLASCore: "Prescott") == nil)
    }

    @Test func aCoreTheLibraryLacksIsNotAskedFor() {
        let all: BLASCore.Features = [.avx2FMA, .avx512, .avx512BF16, .amx]
        // Debian's 0.3.21 has no SapphireRapids kernels: asking for them would bring back its slow choice.
        let debian: (String) -> Bool = { $0 != "SapphireRapids" }
        #expect(BLASCore.choice(features: all, openBLASCore: "Prescott", isBuilt: debian) == "Cooperlake")
        #expect(BLASCore.choice(features: all, openBLASCore: "Cooperlake", isBuilt: debian) == nil)
        #expect(BLASCore.choice(features: [.avx2FMA, .avx512], openBLASCore: "Haswell", isBuilt: { $0 == "Haswell" }) == nil)
    }

    @Test func theLoadedLibrarySaysWhichCoresItHas() {
        // The Debian package this project builds against is a dynamic-architecture build with Haswell kernels.
        #expect(BLASCore.isBuilt("Haswell"))
        #expect(BLASCore.isBuilt("SkylakeX"))
        #expect(!BLASCore.isBuilt("NoSuchCore"))
    }
}
