import Foundation
import Testing
@testable import Engine

/// Every PyTorch file the manifest lists loads through `Checkpoint.open` and equals its safetensors twin.
@Suite struct CheckpointParityTests {
    /// Manifest entries whose format is a PyTorch zip (torch.save or TorchScript).
    static var torchFiles: [[String: Any]] {
        Fixtures.files.filter { entry in
            let format = (entry["format"] as? String ?? "").lowercased()
            return format.contains("torch.save") || format.contains("torchscript")
        }
    }

    /// The safetensors file holding the same weights: the entry's own `weights_twin`, or the sibling of the
    /// case key that names this file (`pt_file` → `weights_file`, `f16_pt_file` → `f16_weights_file`).
    static func twin(of file: String, entry: [String: Any]) -> String? {
        if let twin = entry["weights_twin"] as? String { return twin }
        for other in Fixtures.files {
            guard let caseInfo = other["case"] as? [String: Any] else { continue }
            for (key, value) in caseInfo where (value as? String) == file && key.hasSuffix("pt_file") {
                let twinKey = String(key.dropLast("pt_file".count)) + "weights_file"
                if let twin = caseInfo[twinKey] as? String { return twin }
            }
        }
        return nil
    }

    @Test func manifestListsTorchFiles() {
        #expect(!Self.torchFiles.isEmpty, "the fixture manifest lists no torch.save / TorchScript file")
    }

    @Test(arguments: CheckpointParityTests.torchFiles.compactMap { $0["file"] as? String })
    func torchFileParityWithSafetensorsTwin(_ file: String) throws {
        let entry = try #require(Self.torchFiles.first { $0["file"] as? String == file })
        let twinName = try #require(Self.twin(of: file, entry: entry), "no safetensors twin found in the manifest for \(file)")
        let archive = try Checkpoint.open(Fixtures.path(file))
        let twin = try Checkpoint.open(Fixtures.path(twinName))
        let torch = try #require(archive as? TorchZipArchive)
        let format = (entry["format"] as? String ?? "").lowercased()
        #expect(torch.isTorchScript == format.contains("torchscript"))

        // Same names (a TorchScript module also carries integer buffers, which a state-dict twin may omit).
        let names = Set(archive.tensorNames)
        for name in twin.tensorNames { #expect(names.contains(name), "\(file) lacks \(name)") }
        for extra in names.subtracting(twin.tensorNames) {
            #expect(archive.dtype(of: extra)?.isFloatingPoint == false, "\(file) has unexpected float tensor \(extra)")
        }
        // Same values, bit for bit, after conversion to float32.
        for name in twin.tensorNames where names.contains(name) {
            #expect(archive.dtype(of: name) == twin.dtype(of: name), "\(name) dtype")
            let a = try archive.tensor(named: name), b = try twin.tensor(named: name)
            #expect(a.shape == b.shape, "\(name) shape")
            #expect(a.scalars == b.scalars, "\(file): \(name) differs from \(twinName)")
        }
    }

    /// TorchScript's constants.pkl (not needed for weights) also stays within the allow-list: it parses to the
    /// tensor constants the manifest describes.
    @Test func torchScriptConstantsParseSafely() throws {
        var checked = 0
        for entry in Self.torchFiles {
            guard let file = entry["file"] as? String, let constants = entry["constants"] as? [[String: Any]] else { continue }
            let archive = try TorchZipArchive(path: Fixtures.path(file))
            #expect(archive.isTorchScript)
            let record = try #require(archive.zip.entry(archive.topFolder + "/constants.pkl"))
            let unpickler = SafeUnpickler(path: file, record: record.name) { pid in
                guard case .tuple(let tuple) = pid, case let t = tuple.items, t.count == 5, case .global(.storageType(let type)) = t[1],
                    case .string(let key) = t[2], case .int(let numel) = t[4]
                else { throw CheckpointError.corrupt(path: file, reason: "unexpected persistent id") }
                return .storage(PickleStorage(typeName: type, key: key, location: "", numel: numel))
            }
            let shapes: [[Int]] = try unpickler.load(try archive.zip.readVerified(record)) { root in
                guard case .tuple(let tuple) = root else { return [] }
                return tuple.items.compactMap { if case .tensor(let t) = $0 { return t.shape } else { return nil } }
            }
            #expect(shapes == constants.map { $0["shape"] as? [Int] ?? [-1] })
            checked += 1
        }
        #expect(checked > 0, "no TorchScript file with constants in the manifest")
    }

    /// Float32 tensors of an uncompressed record are views into the file mapping, not copies: this is what keeps
    /// the 2.2 GB ADM checkpoint at one copy in memory.
    @Test func borrowedF32TensorPointsIntoTheMapping() throws {
        var checked = 0
        for file in Self.torchFiles.compactMap({ $0["file"] as? String }) {
            let archive = try TorchZipArchive(path: Fixtures.path(file))
            guard let name = archive.tensorNames.first(where: { archive.dtype(of: $0) == .f32 }) else { continue }
            let t = try archive.tensor(named: name)
            let mapping = UnsafeRawPointer(archive.zip.file.base)
            let start = UnsafeRawPointer(t.storage.pointer)
            #expect(start >= mapping && start + t.count * 4 <= mapping + archive.zip.file.size, "\(file): \(name) was copied")
            // A second read of the same tensor shares the same bytes.
            #expect(try archive.tensor(named: name).storage.pointer == t.storage.pointer)
            checked += 1
        }
        #expect(checked > 0, "no fixture torch file holds a float32 tensor")
    }
}
