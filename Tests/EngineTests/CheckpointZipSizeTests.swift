import Foundation
import Testing
@testable import Engine

/// Zip records whose declared sizes lie: checked against the compressed size and caps before anything is
/// allocated, inflated no further than declared, and not copied a second time (issue #11).
@Suite struct CheckpointZipSizeTests {
    static let pickle: [UInt8] = {
        var p = PickleBuilder()
        p.emptyDict()
        p.string("w")
        p.tensor(storageType: "FloatStorage", key: "0", numel: 4, offset: 0, shape: [4], strides: [1])
        p.setItem()
        p.string("p")
        p.tensor(storageType: "FloatStorage", key: "0", numel: 4, offset: 1, shape: [2], strides: [1])
        p.setItem()
        p.stop()
        return p.bytes
    }()

    static func deflated(zip64: Bool = false, pickle: [UInt8] = pickle) -> [UInt8] {
        TorchZipBuilder.zip(pickle: pickle, storages: ["0": RawBytes.f32([1, 2, 3, 4])], options: .init(deflate: true, zip64Fields: zip64))
    }

    /// Offsets of the central-directory header of `record` in a `ZipWriter` archive.
    static func centralHeader(_ bytes: [UInt8], _ record: String) throws -> Int {
        let name = Array(record.utf8)
        return try #require(bytes.indices.first { i in
            i + 46 + name.count <= bytes.count && bytes[i..<(i + 4)] == [0x50, 0x4B, 0x01, 0x02]
                && Int(bytes[i + 28]) | Int(bytes[i + 29]) << 8 == name.count && Array(bytes[(i + 46)..<(i + 46 + name.count)]) == name
        }, "no central header for \(record)")
    }

    static func patch<T: FixedWidthInteger>(_ bytes: inout [UInt8], at offset: Int, _ value: T) {
        bytes.replaceSubrange(offset..<(offset + T.bitWidth / 8), with: RawBytes.le(value))
    }

    @Test func declaredSizesBeyondWhatDeflateCanProduceAreRefusedBeforeAllocating() throws {
        var classic = Self.deflated()
        let header = try Self.centralHeader(classic, "archive/data.pkl")
        Self.patch(&classic, at: header + 24, UInt32(0xFFFF_FFF0))  // 4 GB from a few hundred bytes
        #expect(classic.count < 1024)
        let reason = try HostileFile.corruptReason(classic, file: "claims-4gb.pt")
        #expect(reason.contains("more than deflate can produce"), "\(reason)")

        var wide = Self.deflated(zip64: true)
        let wideHeader = try Self.centralHeader(wide, "archive/data.pkl")
        Self.patch(&wide, at: wideHeader + 46 + "archive/data.pkl".utf8.count + 4, UInt64(1) << 50)  // ZIP64 plain size
        let wideReason = try HostileFile.corruptReason(wide, file: "claims-2-50.pt")
        #expect(wideReason.contains("more than deflate can produce"), "\(wideReason)")
    }

    /// A data.pkl of more than 64 MiB (here a real one of zeros, deflated to a few kilobytes) is not read.
    @Test func oversizedPicklesAreRefused() throws {
        let bomb = Self.deflated(pickle: Self.pickle + [UInt8](repeating: 0, count: TorchZipArchive.maxPickleBytes))
        #expect(bomb.count < 1 << 20)
        let reason = try HostileFile.corruptReason(bomb, file: "pickle-bomb.pt")
        #expect(reason.contains("data.pkl") && reason.contains("allowed"), "\(reason)")
    }

    /// Inflating stops at the declared size: a stream longer or shorter than its declaration is corrupt.
    @Test func streamsThatDoNotInflateToTheirDeclaredSizeAreCorrupt() throws {
        for delta in [-1, 1] {
            var bytes = Self.deflated()
            let header = try Self.centralHeader(bytes, "archive/data.pkl")
            Self.patch(&bytes, at: header + 24, UInt32(Self.pickle.count + delta))
            let reason = try HostileFile.corruptReason(bytes, file: "mismatch.pt")
            #expect(reason.contains("does not inflate to its declared"), "\(delta): \(reason)")
        }
    }

    /// A directory that announces more entries than its bytes can hold is refused before room is reserved for them.
    @Test func entryCountsTheDirectoryCannotHoldAreCorrupt() throws {
        var bytes = Self.deflated()
        let zip64End = try #require(bytes.indices.last { i in i + 4 <= bytes.count && bytes[i..<(i + 4)] == [0x50, 0x4B, 0x06, 0x06] })
        Self.patch(&bytes, at: zip64End + 32, UInt64(1) << 40)
        let reason = try HostileFile.corruptReason(bytes, file: "count.pt")
        #expect(reason.contains("cannot hold"), "\(reason)")
    }

    /// A float32 tensor that is a whole deflated record borrows the inflated buffer (one copy, not two); a part of
    /// a record is gathered, so that tensors sharing a storage do not each keep all of it alive. The last record
    /// inflated is kept, so tensors viewing one compressed storage in turn inflate it once.
    @Test func deflatedTensorsAreInflatedOnce() throws {
        try HostileFile.withFile("deflated.pt", Self.deflated()) { path in
            let archive = try Checkpoint.open(path)
            let whole = try archive.tensor(named: "w"), part = try archive.tensor(named: "p")
            #expect(whole.scalars == [1, 2, 3, 4] && part.scalars == [2, 3])
            #expect(whole.storage.isBorrowed && !part.storage.isBorrowed)
            // Read again, the record is not inflated again: the new tensor borrows the same buffer.
            #expect(try archive.tensor(named: "w").storage.pointer == whole.storage.pointer)
        }
    }
}
