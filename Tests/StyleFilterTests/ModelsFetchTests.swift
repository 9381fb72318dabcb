import Foundation
import ModelsTestSupport
@testable import StyleFilter
import Testing

/// `ModelStore.fetch` against a real HTTP server on 127.0.0.1: resume, interruption, checksums, pins,
/// stalls, 404, offline mode and the mirror setting.
@Suite("Models fetch over loopback HTTP")
struct ModelsFetchTests {
    typealias S = ModelsTestSupport

    @Test("A published-hash file downloads through the mirror, is verified and renamed into place")
    func publishedHashDownload() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let body = S.bytes(300_000)
        let entry = S.entry("pub", file: "pub.pt", sha256: FileDigest.sha256(of: body))
        server.route(entry.mirrorPath, .serve(body))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry])

        let result = try store.fetch(entry)
        #expect(result == .downloaded(url: server.baseURL + "/test/pub.pt", bytes: 300_000, pinnedNow: false))
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory.filePath(entry))) == body)
        #expect(!S.exists(store.directory.partialPath(entry)))
        #expect(server.requests == [.init(path: "/test/pub.pt", range: nil)])
        let record = try #require(try ModelPins.load(from: store.directory.pinsPath).files["pub.pt"])
        #expect(record.published && record.size == 300_000 && record.sha256 == entry.publishedSHA256)
        #expect(try store.status(entry).state == .verified)
        // A second fetch finds it verified and sends no request.
        #expect(try store.fetch(entry) == .alreadyPresent)
        #expect(server.requests.count == 1)
    }

    @Test("An existing .partial file is resumed with a Range request")
    func resumesPartialFile() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let body = S.bytes(200_000, seed: 2)
        let entry = S.entry("resume", file: "resume.pt", sha256: FileDigest.sha256(of: body))
        server.route(entry.mirrorPath, .serve(body))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry])
        try body.prefix(123_456).write(to: URL(fileURLWithPath: store.directory.partialPath(entry)))

        let result = try store.fetch(entry)
        #expect(result == .downloaded(url: server.baseURL + "/test/resume.pt", bytes: 200_000, pinnedNow: false))
        #expect(server.requests == [.init(path: "/test/resume.pt", range: "bytes=123456-")])
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory.filePath(entry))) == body)
    }

    @Test("A transfer cut midway is retried from where it stopped")
    func interruptedTransferResumesAutomatically() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let body = S.bytes(400_000, seed: 3)
        let entry = S.entry("cut", file: "cut.pt", sha256: FileDigest.sha256(of: body))
        server.route(entry.mirrorPath, .cutOnce(body, after: 150_000))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry], attempts: 3)
        let notes = Mutexed<[String]>([])

        _ = try store.fetch(entry, log: { line in notes.set(notes.value + [line]) })
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory.filePath(entry))) == body)
        let requests = server.requests
        #expect(requests.count == 2)
        #expect(requests.first?.range == nil)
        let resumedAt = try #require(requests.last?.range)
        #expect(resumedAt.hasPrefix("bytes=") && resumedAt != "bytes=0-")
        #expect(notes.value.count == 1 && notes.value[0].contains("retrying (attempt 2 of 3"))
    }

    @Test("With one attempt an interrupted transfer fails (69), keeps its .partial file, and the next fetch resumes it")
    func interruptedTransferLeavesPartialForNextRun() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let body = S.bytes(300_000, seed: 4)
        let entry = S.entry("cut1", file: "cut1.pt", sha256: FileDigest.sha256(of: body))
        server.route(entry.mirrorPath, .cutOnce(body, after: 100_000))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry], attempts: 1)

        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry) }
        #expect(error.exitCode == 69)
        #expect(error.message.contains("interrupted") || error.message.contains("ended after"))
        #expect(!S.exists(store.directory.filePath(entry)))
        let partial = try #require(fileSize(store.directory.partialPath(entry)))
        #expect(partial > 0 && partial <= 100_000)
        #expect(try store.status(entry).state == .partial(partial))

        _ = try store.fetch(entry)
        #expect(server.requests.last?.range == "bytes=\(partial)-")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory.filePath(entry))) == body)
    }

    @Test("A server that ignores Range gets a clean restart, not a doubled file")
    func serverIgnoringRangeRestarts() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let body = S.bytes(100_000, seed: 5)
        let entry = S.entry("norange", file: "norange.pt", sha256: FileDigest.sha256(of: body))
        server.route(entry.mirrorPath, .ignoreRange(body))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry])
        try body.prefix(40_000).write(to: URL(fileURLWithPath: store.directory.partialPath(entry)))

        _ = try store.fetch(entry)
        #expect(server.requests.first?.range == "bytes=40000-")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory.filePath(entry))) == body)
    }

    @Test("A checksum mismatch is refused (78) and leaves nothing under the final or partial name")
    func checksumMismatchRefused() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let entry = S.entry("wrong", file: "wrong.pt", sha256: FileDigest.sha256(of: Data("the real file".utf8)))
        server.route(entry.mirrorPath, .serve(S.bytes(50_000, seed: 6)))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry])

        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry) }
        #expect(error.exitCode == 78)
        #expect(error.message.contains("checksum mismatch for wrong.pt"))
        #expect(error.message.contains("nothing was installed"))
        #expect(!S.exists(store.directory.filePath(entry)))
        #expect(!S.exists(store.directory.partialPath(entry)))
    }

    @Test("HTTP 404 fails with 69 and the status in the message, leaving no files")
    func notFound() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let entry = S.entry("absent", file: "absent.pt", sha256: String(repeating: "0", count: 64))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry], attempts: 3)

        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry) }
        #expect(error.exitCode == 69)
        #expect(error.message.contains("answered HTTP 404"))
        #expect(server.requests.count == 1)  // a 404 is not retried
        #expect(!S.exists(store.directory.filePath(entry)) && !S.exists(store.directory.partialPath(entry)))
    }

    @Test("A stalled transfer times out with a clear error and keeps what arrived")
    func stallTimesOut() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let body = S.bytes(100_000, seed: 7)
        let entry = S.entry("stall", file: "stall.pt", sha256: FileDigest.sha256(of: body))
        server.route(entry.mirrorPath, .stall(body, after: 10_000))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry], stallTimeout: 0.5, attempts: 2)

        let start = ContinuousClock.now
        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry) }
        let elapsed = ContinuousClock.now - start
        #expect(error.exitCode == 69)
        #expect(error.message.contains("stalled: no data for 0.5 s"))
        #expect(error.message.contains("run the same command again to resume"))
        #expect(elapsed < .seconds(5))
        #expect(server.requests.count == 2)
        #expect(server.requests.last?.range == "bytes=10000-")
        #expect(!S.exists(store.directory.filePath(entry)))
        #expect(fileSize(store.directory.partialPath(entry)) == 10_000)
    }

    @Test("The first download of an unpublished file is pinned; a changed server file is refused later")
    func pinOnFirstFetchCatchesServerChange() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let original = S.tinyDINO()
        let entry = S.entry("pinme", file: "pinme.safetensors")
        server.route(entry.mirrorPath, .serve(original))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry])

        #expect(try store.fetch(entry) == .downloaded(url: server.baseURL + "/test/pinme.safetensors", bytes: Int64(original.count), pinnedNow: true))
        let record = try #require(try ModelPins.load(from: store.directory.pinsPath).files["pinme.safetensors"])
        #expect(record.sha256 == FileDigest.sha256(of: original) && !record.published)

        // Upstream now serves something else (still a valid checkpoint): --force must not install it.
        server.route(entry.mirrorPath, .serve(S.tinyDINO(dim: 16)))
        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry, force: true) }
        #expect(error.exitCode == 78)
        #expect(error.message.contains("SHA-256 pinned on \(record.pinnedAt)"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: store.directory.filePath(entry))) == original)
        #expect(!S.exists(store.directory.partialPath(entry)))
    }

    @Test("A file changed on disk after pinning fails verify (78-class mismatch)")
    func pinCatchesLocalChange() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let entry = S.entry("local", file: "local.safetensors")
        server.route(entry.mirrorPath, .serve(S.tinyDINO()))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry])
        _ = try store.fetch(entry)
        guard case .ok(_, pinnedNow: false) = try store.verify(entry) else {
            Issue.record("an untouched pinned file must verify")
            return
        }

        // Same size, one byte different (as silent corruption would be).
        let path = store.directory.filePath(entry)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect(try store.status(entry).state == .modified)
        guard case .mismatch(_, let actual, published: false) = try store.verify(entry) else {
            Issue.record("a changed pinned file must fail verify")
            return
        }
        #expect(actual == FileDigest.sha256(of: bytes))
        // fetch without --force refuses to treat it as present.
        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry) }
        #expect(error.exitCode == 78 && error.message.contains("fetch --force local"))
    }

    @Test("An unpublished first download that is not the expected architecture is not pinned")
    func wrongArchitectureNotPinned() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let entry = S.entry("html", file: "html.pt")
        server.route(entry.mirrorPath, .serve(Data("<html>quota exceeded</html>".utf8)))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry])

        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry) }
        #expect(error.exitCode == 78)
        #expect(error.message.contains("is not dino-vit"))
        #expect(!S.exists(store.directory.filePath(entry)) && !S.exists(store.directory.partialPath(entry)))
        #expect(try ModelPins.load(from: store.directory.pinsPath).files.isEmpty)
    }

    @Test("STYLEFILTER_OFFLINE=1 refuses before any request, naming the command that would fetch")
    func offlineRefuses() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let entry = S.entry("off", file: "off.pt", sha256: FileDigest.sha256(of: Data("x".utf8)))
        server.route(entry.mirrorPath, .serve(Data("x".utf8)))
        let directory = try S.scratchDirectory()
        let store = try S.store(directory, server: server, catalog: [entry], offline: true)

        let error = try #require(throws: StyleFilterError.self) { try store.fetch(entry) }
        #expect(error.exitCode == 69)
        #expect(error.message.contains("STYLEFILTER_OFFLINE=1"))
        #expect(error.message.contains("'stylefilter models fetch off'"))
        #expect(server.requests.isEmpty)
        #expect(S.contents(directory).allSatisfy { $0 == ".lock" })
    }

    @Test("The mirror replaces the official host and keeps the official path")
    func mirrorKeepsPath() throws {
        let clip = try #require(ModelCatalog.entry(named: "clip-vitb32"))
        let environment = try ModelEnvironment(["STYLEFILTER_MIRROR": "http://127.0.0.1:9/base/", "STYLEFILTER_ALLOW_HTTP": "1"])
        #expect(environment.downloadURLs(for: clip) == ["http://127.0.0.1:9/base" + clip.mirrorPath])
        #expect(clip.mirrorPath == "/clip/models/40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt")
        let official = try ModelEnvironment([:])
        #expect(official.downloadURLs(for: clip) == clip.urls)
        #expect(throws: StyleFilterError.self) { try ModelEnvironment(["STYLEFILTER_MIRROR": "ftp://example"]) }
        // Plain http only when asked for.
        #expect(throws: StyleFilterError.self) { try ModelEnvironment(["STYLEFILTER_MIRROR": "http://127.0.0.1:9/base/"]) }
        #expect(try ModelEnvironment(["STYLEFILTER_MIRROR": "https://mirror.example/"]).mirror == "https://mirror.example/")
    }

    @Test("A download larger than the model's limit is refused (65), declared or not, and nothing is kept")
    func oversizedDownloadIsRefused() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let declared = S.entry("big", file: "big.pt")  // catalogue size 1000 bytes
        let directory = try S.scratchDirectory()
        var store = try S.store(directory, server: server, catalog: [declared])
        store.environment.maximumDownloadBytes = 50_000
        server.route(declared.mirrorPath, .serve(S.bytes(80_000)))
        let refused = try #require(throws: StyleFilterError.self) { try store.fetch(declared) }
        #expect(refused.kind == .badInput && refused.message.contains("over the 50.0 kB allowed"), "\(refused.message)")
        #expect(S.contents(directory).allSatisfy { $0 == ".lock" }, "\(S.contents(directory))")
        // A server that declares no length is cut off at the limit.
        server.route(declared.mirrorPath, .serveUnsized(S.bytes(80_000)))
        let cut = try #require(throws: StyleFilterError.self) { try store.fetch(declared) }
        #expect(cut.kind == .badInput && cut.message.contains("over the 50.0 kB allowed"), "\(cut.message)")
        #expect(S.contents(directory).allSatisfy { $0 == ".lock" }, "\(S.contents(directory))")
    }
}

/// Size of a file, or nil.
func fileSize(_ path: String) -> Int64? {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int).map { Int64($0) }
}
