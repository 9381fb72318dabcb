@testable import Engine

/// The torch.save zip and TorchScript reader: zip structure (ZIP64, deflate), data.pkl through the safe
/// unpickler, the tensor walk, view checks, and every tensor read.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTorchZip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzInput.readAll(data, size) { try TorchZipArchive(path: $0) }
}
