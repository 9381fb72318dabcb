import Foundation
import ModelsTestSupport
@testable import StyleFilter
import Testing

/// Models directory resolution, import and verify, without a network.
@Suite("Models directory, import and verify")
struct ModelsStoreTests {
    typealias S = ModelsTestSupport

    @Test("--models-dir beats STYLEFILTER_MODELS beats XDG_CACHE_HOME beats HOME/.cache")
    func directoryResolutionOrder() throws {
        let all = try ModelEnvironment(["STYLEFILTER_MODELS": "/env/models", "XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"])
        #expect(try ModelsDirectory.resolve(option: "/opt/m", environment: all) == ModelsDirectory(path: "/opt/m", source: .option))
        #expect(try ModelsDirectory.resolve(option: nil, environment: all) == ModelsDirectory(path: "/env/models", source: .environment))
        let xdg = try ModelEnvironment(["XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"])
        #expect(try ModelsDirectory.resolve(option: nil, environment: xdg).path == "/xdg/stylefilter/models")
        // The XDG spec says relative values are ignored.
        let relative = try ModelEnvironment(["XDG_CACHE_HOME": "cache", "HOME": "/home/u"])
        #expect(try ModelsDirectory.resolve(option: nil, environment: relative) == ModelsDirectory(path: "/home/u/.cache/stylefilter/models", source: .homeCache))
        #expect(throws: StyleFilterError.self) { try ModelsDirectory.resolve(option: nil, environment: try ModelEnvironment([:])) }
    }

    @Test("Bad environment values are usage errors, not silently ignored")
    func badEnvironment() throws {
        for (key, value) in [("STYLEFILTER_OFFLINE", "maybe"), ("STYLEFILTER_STALL_TIMEOUT", "-1"), ("STYLEFILTER_FETCH_ATTEMPTS", "0")] {
            let error = try #require(throws: StyleFilterError.self) { try ModelEnvironment([key: value]) }
            #expect(error.exitCode == 64 && error.message.contains(key))
        }
    }

    @Test("import recognises a checkpoint by its tensors, copies it under the official name and pins it")
    func importByShapes() throws {
        let source = try S.scratchDirectory() + "/downloaded.bin"
        let data = S.tinyDINO()
        try data.write(to: URL(fileURLWithPath: source))
        let directory = try S.scratchDirectory()
        let entry = S.entry("tiny-dino", file: "tiny_dino.safetensors")
        let other = S.entry("other", file: "other.pt", architecture: "adm-unet")
        let store = try S.store(directory, server: nil, catalog: [other, entry], offline: true)

        let result = try store.importFile(source)
        #expect(result.entry == entry && result.identifiedBy == "tensor shapes" && !result.linked)
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory.filePath(entry))) == data)
        #expect(try ModelPins.load(from: store.directory.pinsPath).files["tiny_dino.safetensors"]?.sha256 == FileDigest.sha256(of: data))
        #expect(try store.status(entry).state == .verified)
        #expect(!S.exists(store.directory.partialPath(entry)))
        // The same bytes again are now identified by their pin.
        #expect(try store.importFile(source).identifiedBy == "pinned SHA-256")
    }

    @Test("import by a published hash, and --link makes a symlink")
    func importByPublishedHashWithLink() throws {
        let source = try S.scratchDirectory() + "/weights.pt"
        let data = S.bytes(5000, seed: 9)
        try data.write(to: URL(fileURLWithPath: source))
        let entry = S.entry("published", file: "published.pt", sha256: FileDigest.sha256(of: data))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: nil, catalog: [entry], offline: true)

        let result = try store.importFile(source, link: true)
        #expect(result.identifiedBy == "published SHA-256" && result.linked)
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: store.directory.filePath(entry))
        #expect(target == source)
        #expect(try store.verify(entry) == .ok(sha256: FileDigest.sha256(of: data), pinnedNow: false))
    }

    @Test("import refuses unknown files (65), missing files (66), a wrong --as (65) and a changed pin (78)")
    func importRefusals() throws {
        let scratch = try S.scratchDirectory()
        let junk = scratch + "/junk.bin"
        try S.bytes(1000).write(to: URL(fileURLWithPath: junk))
        let entry = S.entry("tiny-dino", file: "tiny_dino.safetensors")
        let unet = S.entry("unet", file: "unet.pt", architecture: "adm-unet")
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: nil, catalog: [entry, unet], offline: true)

        let unknown = try #require(throws: StyleFilterError.self) { try store.importFile(junk) }
        #expect(unknown.exitCode == 65 && unknown.message.contains("is not a model StyleFilter knows"))
        let missing = try #require(throws: StyleFilterError.self) { try store.importFile(scratch + "/nothing.pt") }
        #expect(missing.exitCode == 66 && missing.message.contains("no such file"))

        let dino = scratch + "/dino.safetensors"
        try S.tinyDINO().write(to: URL(fileURLWithPath: dino))
        let wrongName = try #require(throws: StyleFilterError.self) { try store.importFile(dino, as: "unet") }
        #expect(wrongName.exitCode == 65 && wrongName.message.contains("is not unet: its tensors show dino-vit"))

        _ = try store.importFile(dino)
        let changed = scratch + "/dino2.safetensors"
        try S.tinyDINO(dim: 16).write(to: URL(fileURLWithPath: changed))
        let pinned = try #require(throws: StyleFilterError.self) { try store.importFile(changed) }
        #expect(pinned.exitCode == 78 && pinned.message.contains("differs from the tiny_dino.safetensors pinned on"))
        // --force replaces file and pin.
        #expect(try store.importFile(changed, force: true).sha256 == FileDigest.sha256(of: S.tinyDINO(dim: 16)))
        #expect(S.contents(directory).allSatisfy { !$0.hasSuffix(".partial") })
    }

    @Test("verify pins a hand-copied file of the right architecture and rejects one of the wrong architecture")
    func verifyHandCopiedFiles() throws {
        let directory = try S.scratchDirectory()
        let good = S.entry("good", file: "good.safetensors")
        let bad = S.entry("bad", file: "bad.pt", architecture: "adm-unet")
        let store = try S.store(directory, server: nil, catalog: [good, bad], offline: true)
        try S.tinyDINO().write(to: URL(fileURLWithPath: store.directory.filePath(good)))
        try S.tinyDINO().write(to: URL(fileURLWithPath: store.directory.filePath(bad)))
        #expect(try store.status(good).state == .unverified)

        #expect(try store.verify(good) == .ok(sha256: FileDigest.sha256(of: S.tinyDINO()), pinnedNow: true))
        #expect(try store.verify(good) == .ok(sha256: FileDigest.sha256(of: S.tinyDINO()), pinnedNow: false))
        #expect(try store.verify(bad) == .wrongArchitecture(found: "dino-vit"))
        #expect(try store.verify(S.entry("none", file: "none.pt")) == .missing)
    }

    @Test("installedPath: verified files resolve; missing, unverified, modified and truncated files are 78 with the fix")
    func installedPathStates() throws {
        let directory = try S.scratchDirectory()
        let entry = S.entry("tiny", file: "tiny.safetensors")
        let store = try S.store(directory, server: nil, catalog: [entry], offline: true)
        let missing = try #require(throws: StyleFilterError.self) { try store.installedPath(entry) }
        #expect(missing.exitCode == 78 && missing.message.contains("model 'tiny' is not installed (looked for tiny.safetensors in \(directory), from --models-dir); install it with 'stylefilter models fetch tiny'"))

        let path = store.directory.filePath(entry)
        try S.tinyDINO().write(to: URL(fileURLWithPath: path))
        let unverified = try #require(throws: StyleFilterError.self) { try store.installedPath(entry) }
        #expect(unverified.message.contains("has not been verified since it was copied there; run 'stylefilter models verify tiny'"))
        // A file copied in by hand and then imported in place is recorded, not refused as "other content".
        #expect(try store.importFile(path).path == path)
        #expect(try store.installedPath(entry) == path)

        try S.tinyDINO().prefix(100).write(to: URL(fileURLWithPath: path))
        let truncated = try #require(throws: StyleFilterError.self) { try store.installedPath(entry) }
        #expect(truncated.message.contains("is corrupt (100 bytes, verified size \(S.tinyDINO().count)); run 'stylefilter models fetch --force tiny'"))
    }

    @Test("A malformed pin record is an error, not a silently emptied one")
    func malformedPins() throws {
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: nil, catalog: [S.entry("a", file: "a.pt")], offline: true)
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: store.directory.pinsPath))
        let error = try #require(throws: StyleFilterError.self) { try store.statuses() }
        #expect(error.exitCode == 78 && error.message.contains("pins.json"))
    }

    @Test("The built-in catalogue: unique names and files, CLIP hashes match their URLs, every mode covered")
    func catalogueFacts() throws {
        let entries = ModelCatalog.entries
        #expect(Set(entries.map(\.name)).count == entries.count)
        #expect(Set(entries.map(\.fileName)).count == entries.count)
        for entry in entries where entry.publishedSHA256 != nil {
            let sha = try #require(entry.publishedSHA256)
            #expect(sha.count == 64 && entry.urls.allSatisfy { $0.contains("/\(sha)/") })
        }
        for entry in entries { #expect(!entry.urls.isEmpty || entry.manualSource != nil) }
        #expect(Set(ModelCatalog.entries(for: [.image]).map(\.name)) == ["adm-256-uncond", "dino-vitb8"])
        #expect(ModelCatalog.entries(for: [.text]).count == 7)
        #expect(Set(ModelCatalog.entries(for: [.faces]).map(\.name)) == ["adm-ffhq-256", "dino-vitb8", "arcface-ir-se50"])
    }
}
