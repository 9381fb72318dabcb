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
