import Foundation
import Testing
@testable import Engine

/// Each way a weight file can be unusable yields its own clear `CheckpointError`.
@Suite struct CheckpointErrorTests {
    /// Runs `body` and returns the `CheckpointError` it throws (recording an issue otherwise).
    static func error(_ body: () throws -> Void) -> CheckpointError? {
        do {
            try body()
            Issue.record("no error thrown")
        } catch let e as CheckpointError {
            return e
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
        return nil
    }

    static func firstManifestFile(formatContaining text: String) throws -> String {
        let entry = Fixtures.files.first { ($0["format"] as? String ?? "").lowercased().contains(text) }
        return try #require(entry?["file"] as? String, "no manifest entry of format \(text)")
    }

    @Test(arguments: ["torch.save", "torchscript", "safetensors"])
    func truncatedFilesSayTruncated(_ format: String) throws {
        let file = try Self.firstManifestFile(formatContaining: format)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Fixtures.path(file))))
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for keep in [bytes.count / 2, bytes.count - 30, 10] {
            let path = try folder.write("cut-\(keep)", Array(bytes[0..<keep]))
            let e = Self.error { _ = try Checkpoint.open(path) }
            guard case .truncated = e else { Issue.record("\(file) cut to \(keep) bytes gave \(String(describing: e))"); continue }
        }
    }

    @Test func missingFileIsUnreadable() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = folder.url.appendingPathComponent("absent.pt").path
        guard case .unreadable(let p, _) = Self.error({ _ = try Checkpoint.open(path) }) else { Issue.record("missing file"); return }
        #expect(p == path)
        guard case .unreadable = Self.error({ _ = try Checkpoint.open(folder.url.path) }) else { Issue.record("directory"); return }
    }

    @Test func emptyFileIsTruncated() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("empty.pt", [])
        guard case .truncated = Self.error({ _ = try Checkpoint.open(path) }) else { Issue.record("empty file"); return }
    }

    @Test func randomBytesAndWrongMagicAreUnknownFormats() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let random: [UInt8] = (0..<4096).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        for (name, bytes) in [("random.bin", random), ("image.gif", Array("GIF89a........".utf8)), ("text.pt", Array("hello world\n".utf8))] {
            let path = try folder.write(name, bytes)
            let e = Self.error { _ = try Checkpoint.open(path) }
            guard case .unknownFormat(_, let lead) = e else { Issue.record("\(name): \(String(describing: e))"); continue }
            #expect(!lead.isEmpty)
        }
    }

    /// Legacy torch.save files are read (see CheckpointLegacyTests); the tar-based format is refused with a reason.
    @Test func legacyFormatsAreDetectedAndTarIsExplained() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // Magic number pickle, protocol version 1001, then garbage where sys_info should be.
        let legacy: [UInt8] = Checkpoint.legacyMagic + [0x2E, 0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E] + [UInt8](repeating: 0, count: 64)
        let path = try folder.write("old.pt", legacy)
        #expect(try Checkpoint.format(ofFileAt: path) == .legacyTorchSave)
        let e = Self.error { _ = try Checkpoint.open(path) }
        guard case .corrupt(_, let reason) = e else { Issue.record("\(String(describing: e))"); return }
        #expect(reason.contains("sys_info") && reason.contains("opcode"), "\(reason)")

        var tar = [UInt8](repeating: 0, count: 1024)
        tar.replaceSubrange(0..<8, with: Array("storages".utf8))
        tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
        let tarPath = try folder.write("old.tar", tar)
        guard case .unsupportedFormat(_, let tarReason) = Self.error({ _ = try Checkpoint.open(tarPath) }) else {
            Issue.record("tar not refused"); return
        }
        #expect(tarReason.contains("tar"))
    }

    @Test func zipWithoutDataPickleIsNotATorchFile() throws {
        var zip = ZipWriter()
        zip.add("photos/cat.jpg", [1, 2, 3])
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("photos.zip", zip.bytes())
        guard case .unsupportedFormat(_, let reason) = Self.error({ _ = try Checkpoint.open(path) }) else {
            Issue.record("plain zip accepted"); return
        }
        #expect(reason.contains("data.pkl"))
    }

    /// Structural damage: bad opcode, a view past its storage, a missing storage record, a failed CRC.
    @Test func corruptArchivesSayCorrupt() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        func tensorDict(numel: Int, offset: Int, shape: [Int], trailer: [UInt8] = []) -> [UInt8] {
            var p = PickleBuilder()
            p.emptyDict()
            p.string("w")
            p.tensor(storageType: "FloatStorage", key: "0", numel: numel, offset: offset, shape: shape, strides: [1])
            p.setItem()
            for b in trailer { p.op(b) }
            p.stop()
            return p.bytes
        }
        func zip(_ pickle: [UInt8], storage: [UInt8]? = RawBytes.f32([1, 2, 3, 4])) -> [UInt8] {
            var z = ZipWriter()
            z.add("x/data.pkl", pickle)
            if let storage { z.add("x/data/0", storage) }
            return z.bytes()
        }
        var cases: [(String, [UInt8], String)] = [
            ("bad opcode", zip(tensorDict(numel: 4, offset: 0, shape: [4], trailer: [0xFF])), "opcode"),
            ("view past storage", zip(tensorDict(numel: 4, offset: 2, shape: [3])), "reaches element"),
            ("storage larger than record", zip(tensorDict(numel: 8, offset: 0, shape: [4])), "record holds"),
            ("missing storage record", zip(tensorDict(numel: 4, offset: 0, shape: [4]), storage: nil), "missing"),
        ]
        // Flip one byte of the pickled tensor name: the CRC-32 of data.pkl no longer matches.
        var flipped = zip(tensorDict(numel: 4, offset: 0, shape: [4]))
        let marker = Array("w".utf8)[0]
        let at = try #require(flipped.indices.first { i in
            i >= 4 && flipped[i] == marker && flipped[i - 4] == 1 && flipped[i - 5] == 0x58
        })
        flipped[at] = UInt8(ascii: "v")
        cases.append(("crc mismatch", flipped, "CRC"))
        for (label, bytes, needle) in cases {
            let path = try folder.write(label.replacingOccurrences(of: " ", with: "_") + ".pt", bytes)
            let e = Self.error { _ = try Checkpoint.open(path) }
            guard case .corrupt(_, let reason) = e else { Issue.record("\(label): \(String(describing: e))"); continue }
            #expect(reason.contains(needle), "\(label): \(reason)")
        }
    }

    @Test func unknownDTypesAreNamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        // safetensors: an FP8 tensor.
        let header = Array(#"{"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}}"#.utf8)
        let st = RawBytes.le(UInt64(header.count)) + header + [0, 0]
        let stPath = try folder.write("fp8.safetensors", st)
        #expect(throws: CheckpointError.unsupportedDType(name: "w", dtype: "F8_E4M3")) { try Checkpoint.open(stPath) }
        // torch zip: a complex storage (the archive opens; the tensor is refused by name).
        var p = PickleBuilder()
        p.emptyDict()
        p.string("z")
        p.tensor(storageType: "ComplexDoubleStorage", key: "0", numel: 1, offset: 0, shape: [1], strides: [1])
        p.setItem()
        p.stop()
        var z = ZipWriter()
        z.add("c/data.pkl", p.bytes)
        z.add("c/data/0", [UInt8](repeating: 0, count: 16))
        let archive = try Checkpoint.open(try folder.write("complex.pt", z.bytes()))
        #expect(throws: CheckpointError.unsupportedDType(name: "z", dtype: "ComplexDoubleStorage")) { try archive.tensor(named: "z") }
    }

    @Test func missingAndMisshapenTensorsViaWeightStore() throws {
        let file = try Self.firstManifestFile(formatContaining: "torch.save")
        let store = WeightStore(try Checkpoint.open(Fixtures.path(file)))
        let name = try #require(store.archive.tensorNames.first)
        let shape = try #require(store.shape(of: name))
        #expect(throws: CheckpointError.missingTensor(name: name + ".nonexistent")) { try store.tensor(name + ".nonexistent", shape: shape) }
        let wrong = shape + [1]
        #expect(throws: CheckpointError.shapeMismatch(name: name, expected: wrong, found: shape)) { try store.tensor(name, shape: wrong) }
        // Messages are one line and name the tensor.
        let message = "\(CheckpointError.shapeMismatch(name: name, expected: wrong, found: shape))"
        #expect(message.contains(name) && !message.contains("\n"))
    }
}
