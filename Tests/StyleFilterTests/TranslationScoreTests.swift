import Engine
import Foundation
import Testing
@testable import StyleFilter
@testable import VipsBridge

/// `score`'s numbers: the structure and style distances are DiffuseIT's self-similarity and CLS style
/// losses, so they are checked against the upstream values of every `diffuseit_losses` case; SSIM and
/// PSNR on known cases.
@Suite struct TranslationScoreTests {
    @Test(arguments: DiffuseITFeatureLossParityTests.files)
    func distancesMatchUpstreamLosses(_ file: String) throws {
        let s = try DiffuseITFeatureLossParityTests.setup(file)
        let structure = try TranslationScore.structureDistance(try s.t("x_in"), source: try s.t("source"), dino: s.losses)
        let expected = Double(try s.t("global_ssim_value").scalars[0])
        #expect(abs(structure - expected) <= parityTolerance * abs(expected), "structure distance \(structure) vs upstream \(expected)")
        let style = try TranslationScore.styleDistance(try s.t("x_in"), style: try s.t("target"), dino: s.losses)
        let expectedStyle = Double(try s.t("target_cls_value").scalars[0])
        #expect(abs(style - expectedStyle) <= parityTolerance * abs(expectedStyle), "style distance \(style) vs upstream \(expectedStyle)")
    }

    static func pattern(width w: Int, height h: Int, shift: Int = 0) -> [UInt8] {
        (0..<(3 * w * h)).map { i in UInt8(truncatingIfNeeded: (i / 3 % w + shift) * 7 + (i / 3 / w) * 3 + (i % 3) * 50) }
    }

    @Test func identicalImagesScorePerfectly() {
        let a = Self.pattern(width: 40, height: 30)
        #expect(abs(ImageSimilarity.ssim(a, a, width: 40, height: 30) - 1) < 1e-12)
        #expect(ImageSimilarity.psnr(a, a) == nil)
    }

    @Test func differentImagesScoreLess() throws {
        let a = Self.pattern(width: 40, height: 30), b = Self.pattern(width: 40, height: 30, shift: 3)
        #expect(ImageSimilarity.ssim(a, b, width: 40, height: 30) < 0.9)
        // One sample off by 255 in 3600: MSE 255²/3600, PSNR = 10·log10(3600) ≈ 35.56 dB.
        var c = [UInt8](repeating: 0, count: 3600), d = c
        d[0] = 255
        let psnr = try #require(ImageSimilarity.psnr(c, d))
        #expect(abs(psnr - 10 * log10(3600.0)) < 1e-9)
    }

    @Test func aConstantImageAgainstItselfShiftedInBrightness() {
        // SSIM of two flat images differing only in mean: the luminance term (2μxμy + C1)/(μx² + μy² + C1).
        let a = [UInt8](repeating: 100, count: 3 * 20 * 20), b = [UInt8](repeating: 120, count: 3 * 20 * 20)
        let c1 = (0.01 * 255) * (0.01 * 255)
        let expected = (2 * 100.0 * 120 + c1) / (100.0 * 100 + 120 * 120 + c1)
        #expect(abs(ImageSimilarity.ssim(a, b, width: 20, height: 20) - expected) < 1e-9)
    }
}
