import Testing
@testable import Engine

/// Schedules and respacing against the reference values of the spec (models-and-checkpoints.md B.5,
/// B.8; diffuseit-algorithm.md §5), which were computed with guided-diffusion in float64.
@Suite struct DiffusionScheduleTests {
    private func expectClose(_ value: Double, _ reference: Double, relative: Double, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(abs(value - reference) <= relative * abs(reference), "\(what): \(value) vs \(reference)", sourceLocation: sourceLocation)
    }

    @Test func linearScheduleReferenceValues() throws {
        let s = try DiffusionSchedule(betas: BetaSchedule.linear.betas(steps: 1000))
        #expect(s.betas.first == 1e-4 && s.betas.last == 0.02)
        expectClose(s.alphasCumprod[0], 0.9999, relative: 1e-13, "abar_0")
        expectClose(s.alphasCumprod[499], 0.078587242881778, relative: 1e-12, "abar_499")
        expectClose(s.alphasCumprod[999], 4.0358297653757e-05, relative: 1e-12, "abar_999")
        expectClose(s.posteriorVariance[1], 5.4531876613022e-05, relative: 1e-12, "posterior variance 1")
        #expect(s.posteriorVariance[0] == 0)
        expectClose(s.posteriorLogVarianceClipped[0], -9.8167251352957, relative: 1e-12, "clipped log variance 0")
        #expect(s.posteriorLogVarianceClipped[0] == s.posteriorLogVarianceClipped[1])
        expectClose(s.logBetas[0], -9.2103403719762, relative: 1e-12, "ln beta_0")
        #expect(s.alphasCumprodPrev[0] == 1 && s.alphasCumprodPrev[1] == s.alphasCumprod[0])
        #expect(s.alphasCumprodNext[999] == 0 && s.alphasCumprodNext[0] == s.alphasCumprod[1])
    }

    @Test func linearScheduleStretchesWithStepCount() throws {
        let betas = try BetaSchedule.linear.betas(steps: 500)
        #expect(betas.count == 500)
        expectClose(betas[0], 2e-4, relative: 1e-15, "beta_0")
        #expect(betas[499] == 0.04)
    }

    @Test func cosineScheduleReferenceValues() throws {
        let s = try DiffusionSchedule(betas: BetaSchedule.cosine.betas(steps: 1000))
        expectClose(s.betas[0], 4.1284224822e-05, relative: 1e-9, "cosine beta_0")
        #expect(s.betas[999] == 0.999)
        expectClose(s.alphasCumprod[999], 2.43e-09, relative: 5e-3, "cosine abar_999")
    }

    @Test func respaced100ReferenceValues() throws {
        let d = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: "100")
        let s = d.schedule
        #expect(d.stepCount == 100)
        expectClose(s.betas[0], 1.0e-4, relative: 1e-12, "beta'_0")
        expectClose(s.betas[1], 2.09363686e-03, relative: 5e-9, "beta'_1")
        expectClose(s.betas[2], 4.08009332e-03, relative: 5e-9, "beta'_2")
        expectClose(s.betas[99], 0.18217953085874, relative: 1e-12, "beta'_99")
        #expect(d.timestepMap[59] == 595)
        expectClose(s.alphasCumprod[59], 0.027160016654150, relative: 1e-12, "abar'_59")
        expectClose(s.sqrtOneMinusAlphasCumprod[59], 0.98632650950172, relative: 1e-12, "sqrt(1-abar'_59)")
        // diffuseit-algorithm.md §5, given to 7 decimals.
        #expect(abs(s.sqrtOneMinusAlphasCumprod[50] - 0.962321) < 5e-7)
        #expect(abs(s.sqrtOneMinusAlphasCumprod[0] - 0.01) < 5e-7)
        #expect(abs(s.betas[58] - 0.1107000) < 5e-7)
        #expect(abs(s.betas[59] - 0.1124908) < 5e-7)
        // The respaced abar equals the base abar at every kept step.
        let base = try DiffusionSchedule(betas: BetaSchedule.linear.betas(steps: 1000))
        for (k, i) in d.timestepMap.enumerated() { expectClose(s.alphasCumprod[k], base.alphasCumprod[i], relative: 1e-13, "abar' at \(k)") }
    }

    @Test func respaced200ReferenceValues() throws {
        let d = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: "200")
        #expect(d.timestepMap[119] == 597)
        #expect(abs(d.schedule.alphasCumprod[119] - 0.0265130) < 5e-7)
        #expect(abs(d.schedule.sqrtOneMinusAlphasCumprod[119] - 0.986654) < 5e-7)
        #expect(abs(d.schedule.sqrtOneMinusAlphasCumprod[100] - 0.961127) < 5e-7)
        #expect(abs(d.schedule.betas[118] - 0.0578754) < 5e-7)
    }

    @Test func sectionRespacingExamples() throws {
        func kept(_ spec: String) throws -> [Int] { try TimestepRespacing.keptTimesteps(baseStepCount: 1000, spec: spec) }
        let r100 = try kept("100")
        #expect(r100.count == 100)
        #expect(Array(r100.prefix(10)) == [0, 10, 20, 30, 40, 50, 61, 71, 81, 91])
        #expect(Array(r100.suffix(4)) == [969, 979, 989, 999])
        let r200 = try kept("200")
        #expect(r200.count == 200 && Array(r200.prefix(3)) == [0, 5, 10] && Array(r200.suffix(4)) == [984, 989, 994, 999])
        let r50 = try kept("50")
        #expect(Array(r50.prefix(5)) == [0, 20, 41, 61, 82] && Array(r50.suffix(3)) == [958, 979, 999])
        let r250 = try kept("250")
        #expect(r250.count == 250 && Array(r250.prefix(3)) == [0, 4, 8] && Array(r250.suffix(4)) == [987, 991, 995, 999])
        // Exact .5 ties of the accumulated stride round half to even: 166.5 → 166, 499.5 → 500, 832.5 → 832.
        let r25 = try kept("25")
        #expect(r25.contains(166) && r25.contains(500) && r25.contains(832))
        #expect(!r25.contains(167) && !r25.contains(499) && !r25.contains(833))
        // "10,10,10": sections of 334, 333 and 333 steps.
        let sections = try kept("10,10,10")
        #expect(sections.count == 30)
        #expect(sections[0] == 0 && sections[9] == 333 && sections[10] == 334 && sections[19] == 666 && sections[20] == 667 && sections[29] == 999)
        let uneven = try kept(" 10, 20,30")
        let explicit = try TimestepRespacing.keptTimesteps(baseStepCount: 1000, sectionCounts: [10, 20, 30])
        #expect(uneven.count == 60 && uneven == explicit)
        #expect(try kept("1000") == Array(0..<1000))
    }

    @Test func ddimRespacingExamples() throws {
        for (count, stride) in [(25, 40), (50, 20), (100, 10), (250, 4)] {
            let kept = try TimestepRespacing.keptTimesteps(baseStepCount: 1000, spec: "ddim\(count)")
            #expect(kept == Array(Swift.stride(from: 0, to: 1000, by: stride)), "ddim\(count)")
        }
    }

    @Test func invalidRespacingsAreRefused() {
        for spec in ["ddim999", "ddim", "ddimx", "abc", "", "10,,20", "2000", "-5", "500,600"] {
            #expect(throws: DiffusionError.self, "\(spec)") { try TimestepRespacing.keptTimesteps(baseStepCount: 1000, spec: spec) }
        }
        #expect(throws: DiffusionError.unknownSchedule("quadratic")) { try BetaSchedule(named: "quadratic") }
        #expect(throws: DiffusionError.invalidStepCount(0)) { try BetaSchedule.linear.betas(steps: 0) }
        #expect(throws: DiffusionError.self) { try DiffusionSchedule(betas: [0.1, 1.5]) }
        #expect(throws: DiffusionError.self) { try DiffusionSchedule(betas: [0.1]) }
        #expect(throws: DiffusionError.timestepOutOfRange(1000, stepCount: 1000)) {
            try GaussianDiffusion(baseBetas: BetaSchedule.linear.betas(steps: 1000), keptTimesteps: [0, 1000])
        }
        // Each message is one line.
        #expect(!DiffusionError.invalidRespacing(spec: "x", reason: "y").description.contains("\n"))
    }

    @Test func modelTimestepsAreMappedAndRescaled() throws {
        let rescaled = try GaussianDiffusion(schedule: .linear, baseSteps: 2000, respacing: "100", rescaleTimesteps: true)
        let raw = try GaussianDiffusion(schedule: .linear, baseSteps: 2000, respacing: "100", rescaleTimesteps: false)
        let t = [0, 1, 50, 99]
        #expect(try raw.modelTimesteps(t) == t.map { Float(raw.timestepMap[$0]) })
        #expect(try rescaled.modelTimesteps(t) == t.map { Float(rescaled.timestepMap[$0]) * 0.5 })
        #expect(rescaled.timestepMap.last == 1999)
        #expect(throws: DiffusionError.timestepOutOfRange(100, stepCount: 100)) { try rescaled.modelTimesteps([100]) }
        // Unrespaced: the identity map.
        let full = try GaussianDiffusion(schedule: .cosine, baseSteps: 50, respacing: nil)
        #expect(full.timestepMap == Array(0..<50) && full.stepCount == 50)
        // DiffuseIT's unscale round trip recovers the index for its respacings of 1000 steps.
        for spec in ["50", "100", "200", "250"] {
            let d = try GaussianDiffusion(schedule: .linear, baseSteps: 1000, respacing: spec)
            let ts = try d.modelTimesteps(Array(0..<d.stepCount))
            #expect(ts.enumerated().allSatisfy { d.respacedIndex(fromModelTimestep: $0.element) == $0.offset }, "\(spec)")
        }
    }
}
