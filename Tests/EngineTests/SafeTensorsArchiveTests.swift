import Testing
@testable import Engine

@Suite struct SafeTensorsArchiveTests {
    @Test func readsF32AndF16WeightsOfTheSameModel() throws {
        // Pick the first manifest entry that ships both an f32 and an f16 safetensors copy of one model.
        let names = Fixtures.files.compactMap { $0["file"] as? String }
        let f16 = try #require(names.first { $0.hasSuffix("_f16.safetensors") })
        let f32 = f16.replacingOccurrences(of: "_f16.safetensors", with: ".safetensors")
        try #require(names.contains(f32))
        let a = try Fixtures.safetensors(f32), b = try Fixtures.safetensors(f16)
        #expect(Set(a.tensorNames) == Set(b.tensorNames))
        for name in a.tensorNames {
            let x = try a.tensor(named: name), y = try b.tensor(named: name)
            #expect(x.shape == y.shape)
            // f16 rounding: relative error per element below 2^-10.
            #expect(relativeL2(y.scalars, x.scalars) < 1e-3, "\(name)")
        }
    }
}
