/// Opens weight files of any supported format, recognised by their first bytes rather than their extension.
public enum Checkpoint {
    /// The container formats `open(_:)` tells apart.
    public enum Format: String, Sendable {
        case safetensors
        /// A zip written by `torch.save` (PyTorch >= 1.6) or `torch.jit.save` (TorchScript).
        case torchZip = "torch zip"
        /// `torch.save` before PyTorch 1.6: a bare pickle stream followed by raw storages (not read).
        case legacyTorchSave = "legacy torch.save"
        /// The tar-based format of very old PyTorch releases (not read).
        case legacyTorchTar = "legacy torch tar"
    }

    /// The legacy `torch.save` prefix: PROTO 2, then LONG1 of the magic number 0x1950a86a20f9469cfc6c.
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// Opens `path` as a safetensors file, a `torch.save` zip or a TorchScript archive.
    ///
    /// Throws one `CheckpointError` per problem: `.unknownFormat` for anything else, `.unsupportedFormat`
    /// for the legacy PyTorch formats (with how to convert them), `.truncated`, `.corrupt`, `.forbiddenGlobal`.
    public static func open(_ path: String) throws -> any TensorArchive {
        let file = try MappedFile(path: path)
        switch try format(of: file) {
        case .safetensors: return try SafeTensorsArchive(file: file)
        case .torchZip: return try TorchZipArchive(file: file)
        case .legacyTorchSave:
            throw CheckpointError.unsupportedFormat(
                path: path,
                reason: "legacy (pre-1.6, non-zip) torch.save file; re-save it with PyTorch >= 1.6 (torch.save(torch.load(f), f2)) or convert it to safetensors")
        case .legacyTorchTar:
            throw CheckpointError.unsupportedFormat(
                path: path,
                reason: "tar-based torch.save file of very old PyTorch; re-save it with PyTorch >= 1.6 or convert it to safetensors")
        }
    }

    /// The format of the file at `path`, from its first bytes.
    public static func format(ofFileAt path: String) throws -> Format {
        try format(of: MappedFile(path: path))
    }

    static func format(of file: MappedFile) throws -> Format {
        let head = Array(file.bytes(0, min(file.size, 512))!)
        func starts(_ prefix: [UInt8]) -> Bool { head.starts(with: prefix) }
        if head.isEmpty { throw CheckpointError.truncated(path: file.path, reason: "the file is empty") }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return .torchZip }
        if starts([0x50, 0x4B, 0x05, 0x06]) {
            throw CheckpointError.unsupportedFormat(path: file.path, reason: "an empty zip archive")
        }
        if starts(legacyMagic) { return .legacyTorchSave }
        if head.count >= 262, Array(head[257..<262]) == Array("ustar".utf8) { return .legacyTorchTar }
        if head.count >= 9, head[8] == UInt8(ascii: "{") {
            let n = head[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            if n >= 2, n <= UInt64(SafeTensorsArchive.maxHeaderBytes) { return .safetensors }
        }
        if starts([0x1F, 0x8B]) {
            throw CheckpointError.unsupportedFormat(path: file.path, reason: "gzip-compressed data; decompress it first")
        }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) {
            throw CheckpointError.unsupportedFormat(
                path: file.path,
                reason: "a bare pickle stream (a legacy torch.save or pickle.dump file); re-save it with PyTorch >= 1.6 or convert it to safetensors")
        }
        if head.count < 4, [0x50, 0x4B, 0x03, 0x04].starts(with: head) || legacyMagic.starts(with: head) {
            throw CheckpointError.truncated(path: file.path, reason: "only \(head.count) bytes")
        }
        let hex = head.prefix(8).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        throw CheckpointError.unknownFormat(path: file.path, leadingBytes: hex.joined(separator: " "))
    }
}
