@testable import Engine

/// The legacy (pre-1.6) torch.save reader: back-to-back pickles, storage records, views.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLegacy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzInput.readAll(data, size) { try LegacyTorchArchive(path: $0) }
}
