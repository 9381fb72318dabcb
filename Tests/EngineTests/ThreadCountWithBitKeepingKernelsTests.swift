import Foundation
import Testing
@testable import Engine

/// Where OpenBLAS's kernels change a product's bits when it is cut (its AVX2 ones: most CI machines), the
/// thread-count suites are skipped, and with them the engine's own part of the promise (convolution bands
/// folded in kernel order, attention and reductions whatever the cut). So they run again here, in a child
/// process of this test binary with OpenBLAS's Sandybridge kernels, which keep the bits (BENCHMARKS.md,
/// "Same bits on any thread count") and run on any CPU with AVX.
@Suite(.enabled(if: !GEMM.cutsKeepBits && BLASCore.Features.current.contains(.avx2FMA) && BLASCore.isBuilt("Sandybridge"),
    "the thread-count suites run in this process"))
struct ThreadCountWithBitKeepingKernelsTests {
    @Test func threadCountSuitesPassWithSandybridgeKernels() throws {
        let binary = CommandLine.arguments[0]
        try #require(FileManager.default.isExecutableFile(atPath: binary), "the test binary is not at \(binary)")
        let suites = ["ThreadCountTests", "ThreadCountStepTests", "GEMMSplitTests"]
        let child = Process()
        child.executableURL = URL(fileURLWithPath: binary)
        child.arguments = ["--testing-library", "swift-testing", "--filter", "\\.(\(suites.joined(separator: "|")))/"]
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_CORETYPE"] = "Sandybridge"
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        child.standardError = output
        try child.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        let failures = text.split(separator: "\n").filter { $0.contains("✘") }.prefix(5).joined(separator: "\n")
        #expect(child.terminationStatus == 0, "the thread-count suites under Sandybridge kernels:\n\(failures)")
        // Ran, not skipped: the child must have found its kernels keep the bits.
        for suite in suites {
            let passed = text.contains("Suite \(suite) passed")
            #expect(passed, "\(suite) did not run and pass")
        }
    }
}
