import Foundation
import Synchronization
import Testing

@testable import StyleFilter
@testable import VipsBridge

@Suite("Chain input, output and errors")
struct ChainTests {
    @Test func writesFilesAtomically() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("out.jpg").path
        let output = try OutputSpec.resolve(output: path + "[Q=80]", format: nil, strip: false)
        try Chain([try ThumbnailStage(width: 64, height: 64)]).run(input: Samples.input("rocket.jpg"), output: output)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["out.jpg"])
        let written = try Foreign.load(try VSource.file(path))
        #expect(written.width == 64 && written.string("vips-loader") == "jpegload_source")
    }

    @Test func leavesNoFileWhenTheInputIsBad() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = try OutputSpec.resolve(output: directory.appendingPathComponent("out.png").path, format: nil, strip: false)
        for sample in ["truncated.jpg", "truncated.png"] {
            #expect(throws: StyleFilterError.self, "\(sample)") {
                try Chain([CopyStage()]).run(input: Samples.input(sample), output: output)
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    @Test func classifiesInputErrors() throws {
        let output = OutputSpec(destination: .standardOutput, suffix: ".png")
        func kind(_ input: ImageInput) -> StyleFilterError.Kind? {
            do {
                _ = try Chain([CopyStage()]).encode(input: input, output: output)
                return nil
            } catch let error as StyleFilterError {
                return error.kind
            } catch {
                return .failure
            }
        }
        #expect(kind(.memory([])) == .badInput)
        #expect(kind(.memory(Array("GIF89a but not really".utf8))) == .badInput)
        #expect(kind(Samples.input("truncated.jpg")) == .badInput)
        #expect(kind(.file("/nonexistent/in.png")) == .missingInput)
        #expect(kind(.file("/")) == .missingInput)
    }

    @Test func refusesToHoldAbsurdSizesInMemory() throws {
        let header = Array("P6\n100000 100000\n255\n".utf8) + [UInt8](repeating: 7, count: 300)
        let error = #expect(throws: StyleFilterError.self) {
            try Chain([SmartcropStage(width: 10, height: 10)]).build(input: .memory(header))
        }
        #expect(error?.kind == .badInput)
        #expect(error?.message.contains("100000x100000") == true)
    }

    /// A tile libvips fails to decode fails the computation it belongs to, not one beside it in the same
    /// process: chains on good input succeed while others decode truncated input at the same time.
    @Test func aBadInputBesideAGoodOneFailsOnlyItself() {
        let output = OutputSpec(destination: .standardOutput, suffix: ".png")
        let good = Mutex(0), bad = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 48) { i in
            let input = Samples.input(i.isMultiple(of: 2) ? "rocket.jpg" : "truncated.jpg")
            do {
                _ = try Chain([CopyStage()]).encode(input: input, output: output)
                good.withLock { $0 += 1 }
            } catch {
                bad.withLock { $0 += 1 }
            }
        }
        let (succeeded, failed) = (good.withLock { $0 }, bad.withLock { $0 })
        #expect(succeeded == 24 && failed == 24, "\(succeeded) succeeded, \(failed) failed")
    }

    @Test func failOnNoneAcceptsTruncatedInput() throws {
        var context = PipelineContext()
        context.failOn = .none
        let output = OutputSpec(destination: .standardOutput, suffix: ".png")
        let bytes = try Chain([CopyStage()]).encode(input: Samples.input("truncated.jpg"), output: output, context: context)
        #expect(!bytes.isEmpty)
    }

    @Test func resolvesOutputSpecs() throws {
        #expect(try OutputSpec.resolve(output: nil, format: nil, strip: false) == OutputSpec(destination: .standardOutput, suffix: ".png"))
        #expect(try OutputSpec.resolve(output: "-", format: "jpg[Q=90]", strip: true).suffix == ".jpg[Q=90]")
        #expect(try OutputSpec.resolve(output: "a/b.webp[Q=85]", format: nil, strip: false) == OutputSpec(destination: .file("a/b.webp"), suffix: ".webp[Q=85]"))
        #expect(try OutputSpec.resolve(output: "x.png", format: "ppm", strip: false).suffix == ".ppm")
        #expect(throws: StyleFilterError(.usage, "cannot tell the output format from 'noextension'; add -f FORMAT (png, jpg, webp, ...)")) {
            try OutputSpec.resolve(output: "noextension", format: nil, strip: false)
        }
        #expect(throws: StyleFilterError.self) { try OutputSpec.resolve(output: nil, format: "nope", strip: false) }
        #expect(throws: StyleFilterError.self) { try OutputSpec.resolve(output: "x.v", format: nil, strip: false) }
    }

    @Test func readsHeaders() throws {
        let info = try ImageInfo.read(Samples.input("orientation6.jpg"))
        #expect(info.width == 107 && info.height == 160 && info.orientation == 6 && info.hasEXIF && !info.hasAlpha)
        #expect(info.loader == "jpegload_source")
        let deep = try ImageInfo.read(Samples.input("rgba16.png"))
        #expect(deep.hasAlpha && deep.format == "ushort" && deep.bands == 4 && deep.hasICC)
    }
}

@Suite("Thread budget", .serialized)
struct RuntimeTests {
    /// One knob drives libvips' worker count and OpenBLAS' thread count.
    @Test func threadsDriveLibvipsAndOpenBLAS() throws {
        let before = (Vips.concurrency, Runtime.engineThreads)
        defer {
            try? Vips.setConcurrency(before.0)
            if before.1 > 0 { try? Runtime.configure(threads: before.1) }
        }
        try Runtime.configure(threads: 1)
        #expect(Vips.concurrency == 1 && Runtime.engineThreads == 1)
        try Runtime.configure(threads: 2)
        #expect(Vips.concurrency == 2 && Runtime.engineThreads == 2)
        #expect(throws: StyleFilterError.self) { try Runtime.configure(threads: -1) }
    }
}
