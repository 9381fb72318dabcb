import Foundation
import ModelsTestSupport
@testable import StyleFilter
import Testing
import FixtureSupport

/// `stylefilter models ...` end to end: exit statuses and the messages users see.
@Suite("stylefilter models (end to end)")
struct ModelsCommandTests {
    typealias S = ModelsTestSupport

    static var fixtures: String { Fixtures.directory.path }

    @Test("models path follows --models-dir, STYLEFILTER_MODELS, XDG_CACHE_HOME, HOME")
    func pathResolution() throws {
        let home = try S.scratchDirectory()
        #expect(try ModelsCLI.run(["models", "path"], home: home).stdout == home + "/.cache/stylefilter/models\n")
        #expect(try ModelsCLI.run(["models", "path"], home: home, environment: ["XDG_CACHE_HOME": "/x"]).stdout == "/x/stylefilter/models\n")
        #expect(try ModelsCLI.run(["models", "path"], home: home, environment: ["XDG_CACHE_HOME": "/x", "STYLEFILTER_MODELS": "/m"]).stdout == "/m\n")
        let option = try ModelsCLI.run(["models", "path", "--models-dir", "/d"], home: home, environment: ["STYLEFILTER_MODELS": "/m"])
        #expect(option.stdout == "/d\n" && option.status == 0)
        let missing = try ModelsCLI.run(["models", "path", "clip-vitb32", "--models-dir", home], home: home)
        #expect(missing.status == 78)
        #expect(missing.stderr == "stylefilter: model 'clip-vitb32' is not installed (looked for \(home)/ViT-B-32.pt); install it with 'stylefilter models fetch clip-vitb32'\n")
    }

    @Test("models list shows every model, its status and what each mode still needs")
    func list() throws {
        let home = try S.scratchDirectory()
        let result = try ModelsCLI.run(["models", "list"], home: home)
        #expect(result.status == 0 && result.stderr.isEmpty)
        for entry in ModelCatalog.entries { #expect(result.stdout.contains(entry.name) && result.stdout.contains(entry.fileName)) }
        #expect(result.stdout.contains("image: missing adm-256-uncond, dino-vitb8 (~2.55 GB): stylefilter models fetch --mode image"))
        let json = try ModelsCLI.run(["models", "list", "--json"], home: home)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["models"] as? [Any])?.count == ModelCatalog.entries.count)
    }

    @Test("Usage errors exit 64")
    func usage() throws {
        let home = try S.scratchDirectory()
        let none = try ModelsCLI.run(["models", "fetch"], home: home)
        #expect(none.status == 64 && none.stderr.contains("name the models to fetch or pass --mode"))
        let unknown = try ModelsCLI.run(["models", "fetch", "gpt-5"], home: home, environment: ["STYLEFILTER_OFFLINE": "1"])
        #expect(unknown.status == 64 && unknown.stderr.contains("unknown model 'gpt-5'; known models: adm-256-uncond"))
        let chained = try ModelsCLI.run(["models", "list", "+", "copy"], home: home)
        #expect(chained.status == 64)
    }

    @Test("Offline: exit 69, no request, and the command that would fetch")
    func offline() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let home = try S.scratchDirectory()
        let result = try ModelsCLI.run(
            ["models", "fetch", "clip-vitb32"], home: home,
            environment: ["STYLEFILTER_OFFLINE": "1", "STYLEFILTER_MIRROR": server.baseURL, "STYLEFILTER_ALLOW_HTTP": "1"])
        #expect(result.status == 69)
        #expect(result.stderr.hasPrefix("stylefilter: network access is disabled (STYLEFILTER_OFFLINE=1): clip-vitb32 would be downloaded from \(server.baseURL)/clip/models/"))
        #expect(result.stderr.contains("run 'stylefilter models fetch clip-vitb32' where the network is allowed"))
        #expect(server.requests.isEmpty)
    }

    @Test("Wrong bytes from the mirror: exit 78, checksum message, nothing installed")
    func checksumMismatch() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let clip = try #require(ModelCatalog.entry(named: "clip-vitb32"))
        server.route(clip.mirrorPath, .serve(S.bytes(70_000)))
        let home = try S.scratchDirectory()
        let directory = home + "/models"
        let result = try ModelsCLI.run(
            ["--progress", "plain", "models", "fetch", "clip-vitb32", "--models-dir", directory], home: home,
            environment: ["STYLEFILTER_MIRROR": server.baseURL, "STYLEFILTER_ALLOW_HTTP": "1"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("stylefilter: clip-vitb32 100% (70.0 kB of 70.0 kB"))
        #expect(result.stderr.contains("stylefilter: checksum mismatch for ViT-B-32.pt from \(server.baseURL)\(clip.mirrorPath): got \(FileDigest.sha256(of: S.bytes(70_000))), expected \(clip.publishedSHA256!) (the published SHA-256); the download was deleted and nothing was installed"))
        #expect(S.contents(directory).allSatisfy { $0 == ".lock" || $0 == "pins.json" })
    }

    @Test("404 and stall from the mirror: exit 69 with the reason")
    func networkFailures() throws {
        let server = try LoopbackHTTPServer()
        defer { server.stop() }
        let home = try S.scratchDirectory()
        let notFound = try ModelsCLI.run(
            ["models", "fetch", "dino-vitb8"], home: home, environment: ["STYLEFILTER_MIRROR": server.baseURL, "STYLEFILTER_ALLOW_HTTP": "1"])
        #expect(notFound.status == 69)
        #expect(notFound.stderr.contains("stylefilter: \(server.baseURL)/dino/dino_vitbase8_pretrain/dino_vitbase8_pretrain.pth answered HTTP 404"))

        let clip = try #require(ModelCatalog.entry(named: "clip-rn50"))
        server.route(clip.mirrorPath, .stall(S.bytes(20_000), after: 5_000))
        let stalled = try ModelsCLI.run(
            ["models", "fetch", "clip-rn50", "-q"], home: home,
            environment: ["STYLEFILTER_MIRROR": server.baseURL, "STYLEFILTER_ALLOW_HTTP": "1", "STYLEFILTER_STALL_TIMEOUT": "0.5", "STYLEFILTER_FETCH_ATTEMPTS": "1"])
        #expect(stalled.status == 69)
        #expect(stalled.stderr == "stylefilter: download of \(server.baseURL)\(clip.mirrorPath) stalled: no data for 0.5 s (have 5.00 kB; run the same command again to resume)\n")
    }

    @Test("models list: a mode is ready only when its files are installed and are the networks it needs")
    func listNeedsRecognisedFiles() throws {
        let home = try S.scratchDirectory()
        let directory = home + "/m"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Every faces file installed and pinned, but each holds a tiny DINO's tensors.
        var pins = ModelPins()
        for name in ["adm-ffhq-256", "dino-vitb8", "arcface-ir-se50"] {
            let entry = try #require(ModelCatalog.entry(named: name))
            let path = directory + "/" + entry.fileName
            try S.tinyDINO().write(to: URL(fileURLWithPath: path))
            let info = try #require(AtomicFile.fileInfo(path))
            pins.files[entry.fileName] = ModelPins.Record(
                sha256: FileDigest.sha256(of: S.tinyDINO()), size: info.size, published: false, source: path, pinnedAt: ModelPins.timestamp(),
                verifiedModification: info.modification)
        }
        try pins.save(to: directory + "/pins.json")
        let result = try ModelsCLI.run(["models", "list", "--models-dir", directory], home: home)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("faces: not usable: adm-ffhq-256, dino-vitb8, arcface-ir-se50"), "\(result.stdout)")
        let json = try ModelsCLI.run(["models", "list", "--json", "--models-dir", directory], home: home)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let faces = try #require((object["modes"] as? [[String: Any]])?.first { $0["mode"] as? String == "faces" })
        #expect(faces["ready"] as? Bool == false && (faces["unrecognised"] as? [String])?.count == 3)
    }

    @Test("Manual-only models: fetch explains where to get them (78)")
    func manualOnly() throws {
        let home = try S.scratchDirectory()
        let result = try ModelsCLI.run(["models", "fetch", "adm-ffhq-256"], home: home, environment: ["STYLEFILTER_OFFLINE": "1"])
        #expect(result.status == 78)
        #expect(result.stderr.contains("adm-ffhq-256 has no direct download: get ffhq_10m.pt from https://drive.google.com/"))
        #expect(result.stderr.contains("then run 'stylefilter models import ffhq_10m.pt'"))
    }

    @Test("verify reports a corrupted published-hash file with 78 and a MISMATCH line")
    func verifyMismatch() throws {
        let home = try S.scratchDirectory()
        let directory = home + "/m"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try S.bytes(1000).write(to: URL(fileURLWithPath: directory + "/RN50.pt"))
        let result = try ModelsCLI.run(["models", "verify", "--models-dir", directory], home: home)
        #expect(result.status == 78)
        #expect(result.stdout.hasPrefix("MISMATCH  clip-rn50  RN50.pt  sha256:"))
        #expect(result.stderr.contains("the file is corrupt or was changed: run 'stylefilter models fetch --force clip-rn50'"))
    }

    @Test("inspect shows format, tensors, dtypes and the architecture; non-checkpoints exit 65")
    func inspect() throws {
        let home = try S.scratchDirectory()
        let dino = try ModelsCLI.run(["models", "inspect", Self.fixtures + "/dino_tiny_weights.safetensors"], home: home)
        #expect(dino.status == 0)
        #expect(dino.stdout.contains("format: safetensors\n"))
        #expect(dino.stdout.contains("architecture: DINO ViT\n"))
        #expect(dino.stdout.contains("blocks.*.attn.qkv.weight x3  F32  [288, 96]"))
        let all = try ModelsCLI.run(["models", "inspect", "--all", Self.fixtures + "/clip_tiny_jit.pt"], home: home)
        #expect(all.status == 0 && all.stdout.contains("format: TorchScript zip") && all.stdout.contains("  visual.conv1.weight  F32  [64, 3, 8, 8]\n"))
        let manifest = try ModelsCLI.run(["models", "inspect", Self.fixtures + "/manifest.json"], home: home)
        #expect(manifest.status == 65 && manifest.stderr.hasPrefix("stylefilter: ") && manifest.stderr.contains("manifest.json"))
        let junk = home + "/junk.bin"
        try S.bytes(100).write(to: URL(fileURLWithPath: junk))
        let imported = try ModelsCLI.run(["models", "import", junk, "--models-dir", home + "/m"], home: home)
        #expect(imported.status == 65 && imported.stderr.contains("is not a model StyleFilter knows"))
    }
}
