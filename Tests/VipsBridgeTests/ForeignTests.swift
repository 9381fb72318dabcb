import Foundation
import Testing

@testable import VipsBridge

/// Samples shipped with the repository.
enum Samples {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("samples")

    static func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: directory.appendingPathComponent(name))) }
}

@Suite("Loading and saving through sources and targets")
struct ForeignTests {
    @Test func sniffsAndLoadsFromMemoryAndFile() throws {
        let fromMemory = try Foreign.load(try VSource.memory(try Samples.bytes("rocket.jpg")))
        #expect(fromMemory.width == 640 && fromMemory.height == 427 && fromMemory.bands == 3)
        #expect(fromMemory.string("vips-loader") == "jpegload_source")
        let fromFile = try Foreign.load(try VSource.file(Samples.path("chelsea.png")))
        #expect(fromFile.width == 451 && fromFile.height == 300)
        #expect(fromFile.hasField("icc-profile-data"))
    }

    @Test(arguments: [".png", ".jpg[Q=90]", ".webp[Q=85]", ".ppm", ".tif", ".gif"])
    func encodesAndDecodesAgain(suffix: String) throws {
        // Random access: the image is read twice (encode, then compare).
        let image = try Foreign.load(try VSource.file(Samples.path("chelsea.png")), sequential: false)
        let bytes = try Foreign.encode(image, suffix: suffix)
        let decoded = try Foreign.load(try VSource.memory(bytes))
        #expect(decoded.width == 451 && decoded.height == 300)
        if suffix == ".png" || suffix == ".ppm" {
            #expect(try decoded.pixelBytes() == (try image.pixelBytes()))
        }
    }

    /// `strip` drops ICC, EXIF and XMP in every saver, WebP included (whose 8.14 saver ignores the flag;
    /// it still writes a fresh EXIF block of its own, resolution and orientation, with nothing of the input's).
    @Test(arguments: [".png", ".jpg", ".webp", ".tif"])
    func stripDropsMetadata(suffix: String) throws {
        let image = try Foreign.load(try VSource.file(Samples.path("chelsea.png")), sequential: false)
        #expect(image.hasField("xmp-data") && image.hasField("icc-profile-data"))
        let stripped = try Foreign.load(try VSource.memory(try Foreign.encode(image, suffix: suffix, strip: true)))
        for field in ["xmp-data", "icc-profile-data"] + (suffix == ".webp" ? [] : ["exif-data"]) {
            #expect(!stripped.hasField(field), "\(suffix) kept \(field)")
        }
        let kept = try Foreign.load(try VSource.memory(try Foreign.encode(image, suffix: suffix)))
        #expect(kept.hasField("icc-profile-data"), "\(suffix) lost the ICC profile without strip")
    }

    @Test func unknownBytesFail() throws {
        let error = #expect(throws: VipsError.self) {
            try Foreign.load(try VSource.memory(Array("definitely not an image".utf8)))
        }
        #expect(error?.message.contains("not in a known format") == true)
    }

    @Test func stripDropsMetadata() throws {
        let image = try Foreign.load(try VSource.file(Samples.path("chelsea.png")), sequential: false)
        let kept = try Foreign.load(try VSource.memory(try Foreign.encode(image, suffix: ".png")))
        let stripped = try Foreign.load(try VSource.memory(try Foreign.encode(image, suffix: ".png", strip: true)))
        #expect(kept.hasField("icc-profile-data") && kept.hasField("xmp-data"))
        #expect(!stripped.hasField("icc-profile-data") && !stripped.hasField("xmp-data"))
    }

    @Test func unknownSaverSuffixIsNil() {
        #expect(Foreign.saverTypeName(forSuffix: ".nope") == nil)
        #expect(Foreign.saverTypeName(forSuffix: ".jpg[Q=90]") == "VipsForeignSaveJpegTarget")
        #expect(Foreign.splitOptions("out.jpg[Q=90,strip]") == ("out.jpg", "[Q=90,strip]"))
    }

    /// SVG is an untrusted loader, blocked by default (the CLI tests cover --allow-untrusted, in their own
    /// process: changing the policy here would race with loads in parallel tests).
    @Test func untrustedLoadersAreBlockedByDefault() throws {
        let svg = Array(#"<svg xmlns="http://www.w3.org/2000/svg" width="8" height="6"><rect width="8" height="6"/></svg>"#.utf8)
        let error = #expect(throws: VipsError.self) { try Foreign.load(try VSource.memory(svg)).pixelBytes() }
        #expect(error?.message.contains("blocked") == true)
    }

    @Test func listsLoadersWithTheirBlockState() {
        let loaders = Foreign.list("VipsForeignLoad")
        #expect(loaders.first { $0.nickname == "jpegload_source" }?.blocked == false)
        #expect(loaders.first { $0.nickname == "svgload_source" }?.blocked == true)
        #expect(Foreign.list("VipsForeignSave").contains { $0.nickname == "pngsave_target" })
    }
}
