import Foundation
import Testing
@testable import Engine

/// Legacy (pre-1.6, non-zip) `torch.save` files, written by `LegacyTorchWriter`: round trips of the manifest's
/// state dicts, shared storages and views, byte order and type sizes, hostile pickles, truncation, corruption.
@Suite struct CheckpointLegacyTests {
    // MARK: Round trip of the fixture state dicts

    /// The state dicts the manifest also ships as `torch.save` files, by their safetensors twins.
    static var stateDictTwins: [String] {
        CheckpointParityTests.torchFiles.compactMap { entry -> String? in
            guard let file = entry["file"] as? String, !(entry["format"] as? String ?? "").lowercased().contains("torchscript") else { return nil }
            return CheckpointParityTests.twin(of: file, entry: entry)
        }
    }

    @Test func manifestListsStateDicts() {
        #expect(!Self.stateDictTwins.isEmpty, "the fixture manifest lists no torch.save state dict with a safetensors twin")
    }

    /// Writes every tensor of `archive` into a legacy file: one storage per tensor (as `torch.save` of a
    /// state dict does), or one flat storage per dtype that all tensors view at offsets (as guided-diffusion's
    /// fp16 master parameters are saved).
    static func legacyCopy(of archive: SafeTensorsArchive, sharedStorage: Bool) throws -> LegacyTorchWriter {
        var writer = LegacyTorchWriter()
        var flat: [DType: Int] = [:]  // dtype → index into writer.storages
        for (i, name) in archive.tensorNames.enumerated() {
            let t = try archive.tensor(named: name)
            let dtype = try #require(archive.dtype(of: name))
            let (type, bytes): (String, [UInt8])
            switch dtype {
            case .f32: (type, bytes) = ("FloatStorage", RawBytes.f32(t.scalars))
            case .f16: (type, bytes) = ("HalfStorage", RawBytes.f16(t.scalars))  // exact: the values came from f16
            default: throw CheckpointError.unsupportedDType(name: name, dtype: dtype.rawValue)
            }
            let strides = t.shape.indices.map { t.shape[($0 + 1)...].reduce(1, *) }
            if sharedStorage {
                let index: Int
                if let known = flat[dtype] {
                    index = known
                } else {
                    index = writer.storages.count
                    flat[dtype] = index
                    writer.storages.append(.init(key: String(94_000_000_000_000 + 4096 * index), type: type, elementSize: dtype.size, bytes: []))
                }
                let offset = writer.storages[index].numel
                writer.storages[index].bytes += bytes
                writer.tensors.append(.init(name: name, storageKey: writer.storages[index].key, offset: offset, shape: t.shape, strides: strides))
            } else {
                // Pointer-like decimal keys whose string order differs from their numeric order.
                let key = String((i % 2 == 0 ? 140_000_000_000_000 : 9_000_000_000_000) + 256 * i)
                writer.storages.append(.init(key: key, type: type, elementSize: dtype.size, bytes: bytes))
                writer.tensors.append(.init(name: name, storageKey: key, offset: 0, shape: t.shape, strides: strides))
            }
        }
        return writer
    }

    @Test(arguments: CheckpointLegacyTests.stateDictTwins, [false, true])
    func stateDictRoundTripsBitExactly(_ twinFile: String, sharedStorage: Bool) throws {
        let twin = try Fixtures.safetensors(twinFile)
        let writer = try Self.legacyCopy(of: twin, sharedStorage: sharedStorage)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("legacy.pt", writer.bytes())
        #expect(try Checkpoint.format(ofFileAt: path) == .legacyTorchSave)
        let archive = try #require(try Checkpoint.open(path) as? LegacyTorchArchive)
        #expect(archive.tensorNames == twin.tensorNames)
        let mapping = UnsafeRawPointer(archive.file.base)
        for (name, written) in zip(twin.tensorNames, writer.tensors) {
            #expect(archive.dtype(of: name) == twin.dtype(of: name), "\(name) dtype")
            let a = try archive.tensor(named: name), b = try twin.tensor(named: name)
            #expect(a.shape == b.shape, "\(name) shape")
            #expect(a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern), "\(twinFile): \(name) differs after the legacy round trip")
            // Float32 bytes that are 4-byte aligned in the file are borrowed from the mapping, never copied.
            if archive.dtype(of: name) == .f32, a.count > 0 {
                let fileOffset = try #require(archive.storages[written.storageKey]).dataOffset + 4 * written.offset
                let start = UnsafeRawPointer(a.storage.pointer)
                #expect((start == mapping + fileOffset) == (fileOffset % 4 == 0), "\(name): aligned bytes copied or misaligned bytes borrowed")
            }
        }
    }

    // MARK: Synthetic layouts

    static let rootA: [Float] = (0..<24).map { Float($0) * 0.25 - 2 }
    static let halfs: [Float] = [0.5, -1.25, 2, 0.0009765625, 65504]  // f16-exact, odd count: shifts alignment

    /// Shared root storage with offsets, views (view_metadata) with offsets inside them, a transposed view,
    /// an f16 storage of odd length, an int64 scalar, and four one-element f32 storages separated by one-byte
    /// storages so that exactly one of them is 4-byte aligned in the file.
    static func syntheticWriter() -> LegacyTorchWriter {
        var w = LegacyTorchWriter()
        w.storages = [
            .init(key: "1000", type: "FloatStorage", elementSize: 4, bytes: RawBytes.f32(rootA)),
            .init(key: "2000", type: "HalfStorage", elementSize: 2, bytes: RawBytes.f16(halfs)),
            .init(key: "3000", type: "LongStorage", elementSize: 8, bytes: RawBytes.i64([7])),
        ]
        for i in 0..<4 {
            w.storages.append(.init(key: "40\(i)0", type: "FloatStorage", elementSize: 4, bytes: RawBytes.f32([Float(i) + 0.5])))
            if i < 3 { w.storages.append(.init(key: "40\(i)5", type: "ByteStorage", elementSize: 1, bytes: [UInt8(i)])) }
        }
        w.tensors = [
            .init(name: "a", storageKey: "1000", offset: 0, shape: [2, 3], strides: [3, 1]),
            .init(name: "b", storageKey: "1000", offset: 6, shape: [3], strides: [1]),
            .init(name: "a_t", storageKey: "1000", offset: 0, shape: [3, 2], strides: [1, 3]),
            // View of root elements 10..<22; the tensor starts 2 elements into the view.
            .init(name: "v", storageKey: "1000", view: ("1040", 10, 12), offset: 2, shape: [2, 4], strides: [4, 1]),
            // A second tensor on the same view (deduplicated by view key).
            .init(name: "v2", storageKey: "1000", view: ("1040", 10, 12), offset: 0, shape: [2], strides: [6]),
            .init(name: "h", storageKey: "2000", offset: 1, shape: [4], strides: [1]),
            .init(name: "step", storageKey: "3000", offset: 0, shape: [], strides: []),
            .init(name: "f0", storageKey: "4000", offset: 0, shape: [1], strides: [1]),
            .init(name: "f1", storageKey: "4010", offset: 0, shape: [1], strides: [1]),
            .init(name: "f2", storageKey: "4020", offset: 0, shape: [1], strides: [1]),
            .init(name: "f3", storageKey: "4030", offset: 0, shape: [1], strides: [1]),
        ]
        for i in 0..<3 { w.tensors.append(.init(name: "u\(i)", storageKey: "40\(i)5", offset: 0, shape: [], strides: [])) }
        return w
    }

    static let syntheticExpected: [String: ([Int], [Float])] = [
        "a": ([2, 3], Array(rootA[0..<6])),
        "b": ([3], Array(rootA[6..<9])),
        "a_t": ([3, 2], [rootA[0], rootA[3], rootA[1], rootA[4], rootA[2], rootA[5]]),
        "v": ([2, 4], Array(rootA[12..<20])),
        "v2": ([2], [rootA[10], rootA[16]]),
        "h": ([4], Array(halfs[1..<5])),
        "step": ([], [7]),
        "f0": ([1], [0.5]), "f1": ([1], [1.5]), "f2": ([1], [2.5]), "f3": ([1], [3.5]),
        "u0": ([], [0]), "u1": ([], [1]), "u2": ([], [2]),
    ]

    static func readSynthetic(_ w: LegacyTorchWriter, in folder: TemporaryFolder) throws -> LegacyTorchArchive {
        try #require(try Checkpoint.open(try folder.write("synthetic-\(UUID().uuidString).pt", w.bytes())) as? LegacyTorchArchive)
    }

    /// Reads `w` and returns the error that throws (recording an issue when none is thrown).
    static func readError(_ w: LegacyTorchWriter, in folder: TemporaryFolder) -> CheckpointError? {
        CheckpointErrorTests.error { _ = try readSynthetic(w, in: folder) }
    }

    @Test func sharedStoragesViewsAndDTypes() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let archive = try Self.readSynthetic(Self.syntheticWriter(), in: folder)
        #expect(archive.tensorNames == Self.syntheticWriter().tensors.map(\.name))
        for (name, (shape, values)) in Self.syntheticExpected {
            let t = try archive.tensor(named: name)
            #expect(t.shape == shape, "\(name) shape")
            #expect(t.scalars == values, "\(name) values")
        }
        #expect(archive.dtype(of: "h") == .f16)
        #expect(archive.dtype(of: "step") == .i64)
        #expect(archive.dtype(of: "u1") == .u8)
        #expect(archive.writerIsLittleEndian)
        #expect(archive.typeSizes == ["short": 2, "int": 4, "long": 8])
    }

    @Test func alignedFloat32IsBorrowedFromTheMapping() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let archive = try Self.readSynthetic(Self.syntheticWriter(), in: folder)
        let base = UnsafeRawPointer(archive.file.base), end = base + archive.file.size
        func inMapping(_ t: Tensor) -> Bool { UnsafeRawPointer(t.storage.pointer) >= base && UnsafeRawPointer(t.storage.pointer) < end }
        // The one-byte storages between them give f0…f3 four different alignments: exactly one is aligned.
        var borrowed = 0
        for name in ["f0", "f1", "f2", "f3"] {
            let key = try #require(Self.syntheticWriter().tensors.first { $0.name == name }?.storageKey)
            let aligned = try #require(archive.storages[key]).dataOffset % 4 == 0
            let t = try archive.tensor(named: name)
            #expect(inMapping(t) == aligned, "\(name): borrowed \(inMapping(t)), aligned \(aligned)")
            if inMapping(t) { borrowed += 1 }
        }
        #expect(borrowed == 1)
        // Tensors sharing an aligned root storage share its bytes; others are copies.
        let rootAligned = try #require(archive.storages["1000"]).dataOffset % 4 == 0
        let a = try archive.tensor(named: "a"), b = try archive.tensor(named: "b"), v = try archive.tensor(named: "v")
        #expect(inMapping(a) == rootAligned && inMapping(b) == rootAligned && inMapping(v) == rootAligned)
        if rootAligned {
            #expect(b.storage.pointer == a.storage.pointer + 6)
            #expect(v.storage.pointer == a.storage.pointer + 12)
        }
        #expect(!inMapping(try archive.tensor(named: "a_t")))  // non-contiguous: materialised
        #expect(!inMapping(try archive.tensor(named: "h")))  // f16: converted
    }

    /// Magic-number pickles of other protocols (protocol 4 frames it) are recognised.
    @Test func magicNumberPickleOfProtocol4IsRecognised() {
        let magic = LegacyTorchArchive.magicNumber
        let p2: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + magic + [0x2E]
        let p4: [UInt8] = [0x80, 0x04, 0x95] + RawBytes.le(UInt64(13)) + [0x8A, 0x0A] + magic + [0x2E]
        var wrong = p2
        wrong[7] ^= 1
        #expect(p2.withUnsafeBytes { LegacyTorchArchive.magicPickleEnd($0) } == p2.count)
        #expect(p4.withUnsafeBytes { LegacyTorchArchive.magicPickleEnd($0) } == p4.count)
        #expect(wrong.withUnsafeBytes { LegacyTorchArchive.magicPickleEnd($0) } == nil)
    }

    // MARK: sys_info

    /// Elements are little-endian whatever the writer; old big-endian writers put the counts in their order.
    @Test func bigEndianWriterCountsAreAccepted() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var w = Self.syntheticWriter()
        w.littleEndian = false
        w.bigEndianCounts = true
        let archive = try Self.readSynthetic(w, in: folder)
        #expect(!archive.writerIsLittleEndian)
        for (name, (_, values)) in Self.syntheticExpected { #expect(try archive.tensor(named: name).scalars == values, "\(name)") }
        // Modern big-endian writers convert the counts to little-endian: also fine.
        w.bigEndianCounts = false
        #expect(try Self.readSynthetic(w, in: folder).tensor(named: "v").scalars == Self.syntheticExpected["v"]!.1)
        // A little-endian writer never wrote big-endian counts.
        w.littleEndian = true
        w.bigEndianCounts = true
        let reasonError = Self.readError(w, in: folder)
        guard case .corrupt(_, let reason) = reasonError else { Issue.record("\(String(describing: reasonError))"); return }
        #expect(reason.contains("elements, but the main pickle declares"), "\(reason)")
    }

    @Test func unknownTypeSizesAndProtocolVersionsAreRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var w = Self.syntheticWriter()
        w.typeSizes = [("short", 2), ("int", 8), ("long", 8)]
        let reasonError = Self.readError(w, in: folder)
        guard case .unsupportedFormat(_, let reason) = reasonError else { Issue.record("\(String(describing: reasonError))"); return }
        #expect(reason.contains("int=8"), "\(reason)")
        // Windows writers (C long of 4 bytes) are read: LongStorage stays int64.
        w.typeSizes = [("short", 2), ("int", 4), ("long", 4)]
        #expect(try Self.readSynthetic(w, in: folder).tensor(named: "step").scalars == [7])
        w.typeSizes = [("short", 2), ("int", 4)]
        let missingError = Self.readError(w, in: folder)
        guard case .unsupportedFormat(_, let missing) = missingError else { Issue.record("\(String(describing: missingError))"); return }
        #expect(missing.contains("long=?"), "\(missing)")
        var v = Self.syntheticWriter()
        v.protocolVersion = 1002
        let versionError = Self.readError(v, in: folder)
        guard case .unsupportedFormat(_, let version) = versionError else { Issue.record("\(String(describing: versionError))"); return }
        #expect(version.contains("1002"), "\(version)")
    }

    // MARK: Hostile pickles

    static func expectRefusal(_ bytes: [UInt8], module: String, name: String) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let path = try folder.write("evil.pt", bytes)
        #expect(try Checkpoint.format(ofFileAt: path) == .legacyTorchSave)
        #expect(throws: CheckpointError.forbiddenGlobal(module: module, name: name)) { try Checkpoint.open(path) }
    }

    /// `os.system` hidden after a valid tensor in the main pickle of an otherwise valid legacy file.
    @Test func refusesOsSystemInTheMainPickle() throws {
        var w = LegacyTorchWriter()
        w.storages = [.init(key: "1", type: "FloatStorage", elementSize: 4, bytes: RawBytes.f32([1, 2, 3, 4]))]
        w.tensors = [.init(name: "w", storageKey: "1", offset: 0, shape: [4], strides: [1])]
        var main = Array(w.mainPickle().dropLast())  // drop STOP; the OrderedDict is on the stack
        var p = PickleBuilder()
        p.string("payload")
        p.global("os", "system")
        p.string("echo pwned > /tmp/stylefilter-legacy-pwned")
        p.op(0x85)  // TUPLE1
        p.reduce()
        p.setItem()
        p.stop()
        main += p.bytes.dropFirst(2)  // without PROTO
        try Self.expectRefusal(w.bytes(mainPickle: main), module: "os", name: "system")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/stylefilter-legacy-pwned"))
    }

    /// `torch.save(model)` pickles the module class through a ('module', class, file, source) persistent id:
    /// the class global is refused by name before anything is built.
    @Test func refusesAPickledModuleByItsClass() throws {
        var p = PickleBuilder()
        p.mark()
        p.string("module")
        p.global("guided_diffusion.unet", "UNetModel")
        p.string("unet.py")
        p.string("class UNetModel(nn.Module): ...")
        p.tuple()
        p.persistentID()
        p.emptyTuple()
        p.newObj()
        p.stop()
        try Self.expectRefusal(LegacyTorchWriter().bytes(mainPickle: p.bytes, storageKeys: []), module: "guided_diffusion.unet", name: "UNetModel")
    }

    /// The small pickles before the main one go through the same allow-list.
    @Test func refusesAGlobalInSysInfo() throws {
        let good = Self.syntheticWriter().bytesAndLayout()
        var p = PickleBuilder()
        p.global("builtins", "eval")
        p.string("__import__('os').system('true')")
        p.op(0x85)
        p.reduce()
        p.stop()
        let bytes = Array(good.bytes[..<good.layout.sysInfo]) + p.bytes + Array(good.bytes[good.layout.mainPickle...])
        try Self.expectRefusal(bytes, module: "builtins", name: "eval")
    }

    // MARK: Truncation and corruption

    @Test func truncatedLegacyFilesSayTruncated() throws {
        let (bytes, layout) = Self.syntheticWriter().bytesAndLayout()
        let firstData = try #require(layout.storageRecords.first).offset + 8
        let cuts: [(String, Int)] = [
            ("inside the magic number", 9),
            ("inside the protocol version", 17),
            ("inside sys_info", layout.sysInfo + 20),
            ("inside the main pickle", (layout.mainPickle + layout.keyList) / 2),
            ("before the key list", layout.keyList),
            ("inside the key list", layout.keyList + 5),
            ("inside a count", firstData - 3),
            ("inside the first storage", firstData + 10),
            ("inside the last storage", bytes.count - 1),
        ]
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for (label, keep) in cuts {
            let path = try folder.write("cut-\(keep).pt", Array(bytes[..<keep]))
            let e = CheckpointErrorTests.error { _ = try Checkpoint.open(path) }
            guard case .truncated(_, let reason) = e else { Issue.record("cut \(label) (\(keep) bytes) gave \(String(describing: e))"); continue }
            #expect(!reason.contains("\n"))
        }
    }

    @Test func corruptLegacyFilesSayCorrupt() throws {
        let w = Self.syntheticWriter()
        let (good, layout) = w.bytesAndLayout()
        var wrongCount = good
        wrongCount[layout.storageRecords[0].offset] &+= 1
        var viewPast = w
        viewPast.tensors[3].view = ("1040", 10, 20)  // 10 + 20 > 24 elements
        var tensorPastView = w
        tensorPastView.tensors[3].offset = 6  // 6 + 8 > 12-element view
        var conflicting = w
        conflicting.tensors[4].view = ("1040", 11, 12)
        let cases: [(String, [UInt8], String)] = [
            ("wrong element count", wrongCount, "the main pickle declares"),
            ("unknown key in list", w.bytes(storageKeys: w.storages.map(\.key).sorted() + ["999"]), "never uses"),
            ("key missing from list", w.bytes(storageKeys: Array(w.storages.map(\.key).sorted().dropLast())), "missing from the storage key list"),
            ("view outside storage", viewPast.bytes(), "lies outside"),
            ("tensor outside view", tensorPastView.bytes(), "reaches element"),
            ("view declared twice", conflicting.bytes(), "declared twice"),
        ]
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        for (label, bytes, needle) in cases {
            let path = try folder.write(label.replacingOccurrences(of: " ", with: "_") + ".pt", bytes)
            let e = CheckpointErrorTests.error { _ = try Checkpoint.open(path) }
            guard case .corrupt(_, let reason) = e else { Issue.record("\(label): \(String(describing: e))"); continue }
            #expect(reason.contains(needle), "\(label): \(reason)")
        }
    }
}
