import Foundation
import Testing
@testable import Engine

/// Synthetic torch.save zips exercising the layout rules: arbitrary top folder, shared storages, offsets,
/// strides, dtypes, byte order, compression, ZIP64 fields and local-header padding.
@Suite struct CheckpointTorchZipTests {
    static let s0: [Float] = (0..<12).map { Float($0) * 0.5 + 1 }
    static let s1: [Float] = [0.5, -1.25, 2, 0.0009765625, 65504, -3]  // all exactly representable in f16
    static let s2: [Float] = ([1.5, -2.25, 3.0e30, 1.0e-30] as [Float])  // made bf16-exact: low 16 bits cleared
        .map { Float(bitPattern: $0.bitPattern & 0xFFFF_0000) }
    static let s4: [Double] = [1.0 / 3.0, -2.5]

    /// name → (shape, expected float32 values)
    static let expected: [String: ([Int], [Float])] = [
        "a": ([2, 3], Array(s0[0..<6])),
        "b": ([3], Array(s0[6..<9])),
        "c": ([3, 2], [s0[0], s0[3], s0[1], s0[4], s0[2], s0[5]]),  // transposed view of a
        "d": ([5], Array(s1[1..<6])),
        "e": ([2, 2], s2),
        "step": ([], [7]),
        "dbl": ([2], s4.map { Float($0) }),
        "p": ([3], Array(s0[9..<12])),
        "nested.inner.w": ([2], [s0[0], s0[2]]),  // stride 2
        "bcast": ([2, 3], [s0[5], s0[5], s0[5], s0[6], s0[6], s0[6]]),  // stride 0 (expanded)
    ]

    static func stateDictPickle() -> PickleBuilder {
        var p = PickleBuilder()
        p.global("collections", "OrderedDict")
        p.emptyTuple()
        p.reduce()
        p.mark()
        func entry(_ name: String, _ type: String, _ key: String, _ numel: Int, _ offset: Int, _ shape: [Int], _ strides: [Int]) {
            p.string(name)
            p.tensor(storageType: type, key: key, numel: numel, offset: offset, shape: shape, strides: strides)
        }
        entry("a", "FloatStorage", "0", 12, 0, [2, 3], [3, 1])
        entry("b", "FloatStorage", "0", 12, 6, [3], [1])
        entry("c", "FloatStorage", "0", 12, 0, [3, 2], [1, 3])
        entry("d", "HalfStorage", "1", 6, 1, [5], [1])
        entry("e", "BFloat16Storage", "2", 4, 0, [2, 2], [2, 1])
        entry("step", "LongStorage", "3", 1, 0, [], [])
        entry("dbl", "DoubleStorage", "4", 2, 0, [2], [1])
        // A Parameter: _rebuild_parameter(tensor, requires_grad, hooks).
        p.string("p")
        p.parameter(storageType: "FloatStorage", key: "0", numel: 12, offset: 9, shape: [3], strides: [1])
        // A nested plain dict.
        p.string("nested")
        p.emptyDict()
        p.string("inner")
        p.emptyDict()
        p.string("w")
        p.tensor(storageType: "FloatStorage", key: "0", numel: 12, offset: 0, shape: [2], strides: [2])
        p.setItem()
        p.setItem()
        entry("bcast", "FloatStorage", "0", 12, 5, [2, 3], [1, 0])
        entry("cplx", "ComplexFloatStorage", "5", 2, 0, [2], [1])
        p.string("epoch")  // non-tensor values are skipped
        p.int(3)
        p.setItems()
        // state_dict()'s _metadata arrives as BUILD state on the OrderedDict: attributes, not items.
        p.emptyDict()
        p.string("_metadata")
        p.emptyDict()
        p.string("")
        p.emptyDict()
        p.string("version")
        p.int(1)
        p.setItem()
        p.setItem()
        p.setItem()
        p.build()
        p.stop()
        return p
    }

    static func stateDictZip(top: String = "my model_v2", bigEndian: Bool = false, _ options: ZipWriter.Options = .init()) -> [UInt8] {
        func order(_ bytes: [UInt8], _ size: Int) -> [UInt8] {
            guard bigEndian else { return bytes }
            return stride(from: 0, to: bytes.count, by: size).flatMap { bytes[$0..<($0 + size)].reversed() }
        }
        var zip = ZipWriter()
        zip.add("\(top)/data.pkl", stateDictPickle().bytes)
        if bigEndian { zip.add("\(top)/byteorder", "big") }
        zip.add("\(top)/data/0", order(RawBytes.f32(s0), 4))
        zip.add("\(top)/data/1", order(RawBytes.f16(s1), 2))
        zip.add("\(top)/data/2", order(RawBytes.bf16(s2), 2))
        zip.add("\(top)/data/3", order(RawBytes.i64([7]), 8))
        zip.add("\(top)/data/4", order(RawBytes.f64(s4), 8))
        zip.add("\(top)/data/5", [UInt8](repeating: 0, count: 16))
        zip.add("\(top)/version", "3\n")
        return zip.bytes(options)
    }

    static let variants: [(String, [UInt8])] = {
        var v: [(String, [UInt8])] = [
            ("plain", stateDictZip()),
            ("archive top folder", stateDictZip(top: "archive")),
            ("deflate", stateDictZip(ZipWriter.Options(deflate: true))),
            ("zip64 fields", stateDictZip(ZipWriter.Options(zip64Fields: true))),
            ("unpadded", stateDictZip(ZipWriter.Options(alignment: 1))),
            ("big endian", stateDictZip(bigEndian: true)),
        ]
        v.append(("deflate+zip64+big endian", stateDictZip(bigEndian: true, ZipWriter.Options(deflate: true, zip64Fields: true))))
        return v
    }()

    @Test(arguments: CheckpointTorchZipTests.variants.map(\.0))
    func readsEveryTensorOfASyntheticStateDict(_ variant: String) throws {
        let bytes = try #require(Self.variants.first { $0.0 == variant }?.1)
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let archive = try #require(try Checkpoint.open(try folder.write("sd.pt", bytes)) as? TorchZipArchive)
        #expect(!archive.isTorchScript)
        #expect(archive.tensorNames == ["a", "b", "c", "d", "e", "step", "dbl", "p", "nested.inner.w", "bcast", "cplx"])
        for (name, (shape, values)) in Self.expected {
            let t = try archive.tensor(named: name)
            #expect(t.shape == shape, "\(variant): \(name) shape")
            #expect(t.scalars == values, "\(variant): \(name) values")
        }
        #expect(archive.dtype(of: "d") == .f16)
        #expect(archive.dtype(of: "step") == .i64)
        #expect(archive.dtype(of: "cplx") == nil)
        #expect(throws: CheckpointError.unsupportedDType(name: "cplx", dtype: "ComplexFloatStorage")) {
            try archive.tensor(named: "cplx")
        }
    }

    @Test func borrowsOnlyContiguousAlignedFloat32() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let archive = try TorchZipArchive(path: try folder.write("sd.pt", Self.stateDictZip()))
        let base = UnsafeRawPointer(archive.zip.file.base)
        let end = base + archive.zip.file.size
        func inMapping(_ t: Tensor) -> Bool {
            let p = UnsafeRawPointer(t.storage.pointer)
            return p >= base && p < end
        }
        let a = try archive.tensor(named: "a"), b = try archive.tensor(named: "b")
        #expect(inMapping(a) && inMapping(b))
        // Shared storage: b starts 6 elements after a in the same record.
        #expect(b.storage.pointer == a.storage.pointer + 6)
        #expect(!inMapping(try archive.tensor(named: "c")))  // non-contiguous: materialised
        #expect(!inMapping(try archive.tensor(named: "d")))  // f16: converted
        // Deflated records are inflated, never borrowed.
        let deflated = try TorchZipArchive(path: try folder.write("z.pt", Self.stateDictZip(ZipWriter.Options(deflate: true))))
        let da = try deflated.tensor(named: "a")
        let dp = UnsafeRawPointer(da.storage.pointer)
        #expect(!(dp >= UnsafeRawPointer(deflated.zip.file.base) && dp < UnsafeRawPointer(deflated.zip.file.base) + deflated.zip.file.size))
    }

    /// Zip data offsets come from the local header (PyTorch's padding lives only there).
    @Test func dataOffsetComesFromTheLocalHeader() throws {
        let bytes = Self.stateDictZip()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let zip = try ZipArchive(path: try folder.write("sd.pt", bytes))
        let record = try #require(zip.entry("my model_v2/data/0"))
        #expect(record.dataOffset % 64 == 0)
        #expect(Array(try #require(zip.mappedBytes(record))) == RawBytes.f32(Self.s0))
    }

    @Test func weightStoreChecksNamesAndShapes() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let store = WeightStore(try Checkpoint.open(try folder.write("sd.pt", Self.stateDictZip())))
        #expect(try store.scoped("nested.inner").tensor("w", shape: [2]).scalars == [Self.s0[0], Self.s0[2]])
        #expect(throws: CheckpointError.missingTensor(name: "nested.inner.v")) {
            try store.scoped("nested").scoped("inner").tensor("v", shape: [2])
        }
        #expect(throws: CheckpointError.shapeMismatch(name: "a", expected: [3, 2], found: [2, 3])) {
            try store.tensor("a", shape: [3, 2])
        }
    }
}
