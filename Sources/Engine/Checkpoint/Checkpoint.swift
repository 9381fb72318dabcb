/// Opens weight files of any supported format, recognised by their first bytes rather than their extension.
public enum Checkpoint {
    /// The container formats `open(_:)` tells apart.
    public enum Format: String, Sendable {
        /// A `.safetensors` file (JSON header, then raw little-endian tensors).
        case safetensors
        /// A zip written by `torch.save` (PyTorch >= 1.6) or `torch.jit.save` (TorchScript).
        case torchZip = "torch zip"
        /// `torch.save` before PyTorch 1.6 (or with `_use_new_zipfile_serialization=False`): pickles back to
        /// back, then raw storages.
        case legacyTorchSave = "legacy torch.save"
        /// The tar-based format of very old PyTorch releases (not read).
        case legacyTorchTar = "legacy torch tar"
    }

    /// Most dimensions a tensor read from a file may have (PyTorch's own limit): a bound for loops over shapes.
    static let maxRank = 64

    /// The legacy `torch.save` prefix as PyTorch writes it (pickle protocol 2): PROTO 2, then LONG1 of the magic
    /// number 0x1950a86a20f9469cfc6c. Other protocols are recognised too (`LegacyTorchArchive.magicPickleEnd`).
    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A] + LegacyTorchArchive.magicNumber

    /// Opens `path` as a safetensors file, a `torch.save` zip, a TorchScript archive or a legacy `torch.save` file.
    ///
    /// Throws one `CheckpointError` per problem: `.unknownFormat` for anything else, `.unsupportedFormat`
    /// for the tar-based PyTorch format (with how to convert it), `.truncated`, `.corrupt`, `.forbiddenGlobal`.
    public static func open(_ path: String) throws -> any TensorArchive {
        let file = try MappedFile(path: path)
        switch try format(of: file) {
        case .safetensors: return try SafeTensorsArchive(file: file)
        case .torchZip: return try TorchZipArchive(file: file)
        case .legacyTorchSave: return try LegacyTorchArchive(file: file)
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
        if head.withUnsafeBytes({ LegacyTorchArchive.magicPickleEnd($0) }) != nil { return .legacyTorchSave }
        if head.count >= 262, Array(head[257..<262]) == Array("ustar".utf8) { return .legacyTorchTar }
        if head.count >= 9, head[8] == UInt8(ascii: "{") {
            let n = head[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
            if n >= 2, n <= UInt64(SafeTensorsArchive.maxHeaderBytes) { return .safetensors }
        }
        if starts([0x1F, 0x8B]) {
            throw CheckpointError.unsupportedFormat(path: file.path, reason: "gzip-compressed data; decompress it first")
        }
        // A file cut inside the first bytes of a zip or of the legacy magic-number pickle.
        if head.count < 4 && [0x50, 0x4B, 0x03, 0x04].starts(with: head)
            || head.count <= legacyMagic.count && (legacyMagic + [0x2E]).starts(with: head)
        {
            throw CheckpointError.truncated(path: file.path, reason: "only \(head.count) bytes")
        }
        if head.count >= 2, head[0] == 0x80, (2...5).contains(head[1]) {
            throw CheckpointError.unsupportedFormat(
                path: file.path,
                reason: "a bare pickle stream without the torch.save magic number (a pickle.dump file?); save the state dict with torch.save or convert it to safetensors")
        }
        let hex = head.prefix(8).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        throw CheckpointError.unknownFormat(path: file.path, leadingBytes: hex.joined(separator: " "))
    }
}
