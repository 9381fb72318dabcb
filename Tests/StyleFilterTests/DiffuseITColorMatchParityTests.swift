import Foundation
import Testing
@testable import StyleFilter

/// MKL colour matching against color-matcher 0.5.0 (every `colormatch` file of the manifest).
@Suite struct DiffuseITColorMatchParityTests {
    static let files: [String] = Fixtures.entries(kind: "colormatch").compactMap { $0["file"] as? String }

    @Test func manifestHasColorMatchCases() {
        #expect(!Self.files.isEmpty, "no colormatch case in the fixture manifest")
    }

    @Test(arguments: files)
    func colorMatchParity(_ file: String) throws {
        let src = try FixtureScalars.requiredDoubles(file: file, name: "src_u8")
        let ref = try FixtureScalars.requiredDoubles(file: file, name: "ref_u8")
        let result = ColorMatching.mkl(source: src, reference: ref)

        let pairs: [(String, [Double])] = [
            ("cov_src_f64", result.sourceCovariance), ("cov_ref_f64", result.referenceCovariance),
            ("transfer_mat_f64", result.transfer), ("result_f64", result.matched),
        ]
        for (name, value) in pairs {
            let err = relativeL2Double(value, try FixtureScalars.requiredDoubles(file: file, name: name))
            #expect(err <= parityTolerance, "\(name) rel-L2 \(err)")
            print("colormatch \(name): rel-L2 \(err)")
        }
        let expected = try FixtureScalars.requiredDoubles(file: file, name: "out_u8").map { UInt8($0) }
        let mismatches = zip(result.bytes, expected).filter { $0 != $1 }.count
        #expect(mismatches == 0, "\(mismatches) of \(expected.count) output bytes differ")

        // The pre-stretch result carries the reference's covariance exactly.
        let (_, covOut) = ColorMatching.meanAndCovariance(result.matched)
        #expect(relativeL2Double(covOut, result.referenceCovariance) < 1e-9)
    }

    /// The 8-bit source conversion: (x + 1) / 2, clamp, ×255, truncate.
    @Test(arguments: files)
    func sourceConversionParity(_ file: String) throws {
        guard let pred = try FixtureScalars.doubles(file: file, name: "pred_xstart") else { return }
        let bytes = DiffuseITOutput.truncatedBytes(planar: pred.map { Float($0) }, channels: 3)
        let expected = try FixtureScalars.requiredDoubles(file: file, name: "src_u8").map { UInt8($0) }
        #expect(bytes == expected)
    }
}
