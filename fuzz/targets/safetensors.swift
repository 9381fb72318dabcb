@testable import Engine

/// The safetensors reader: header JSON, offsets, dtypes, conversion of every tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzInput.readAll(data, size) { try SafeTensorsArchive(path: $0) }
}
