@testable import Engine

/// Every Engine architecture recogniser on whatever tensors a file declares (any format, opened as the
/// style stage and `models inspect` open them). Recognisers read names and shapes only.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecognisers(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzInput.withFile(data, size) { path in
        guard let archive = try? Checkpoint.open(path) else { return }
        let store = WeightStore(archive)
        _ = UNetArchitecture(archive)
        _ = UNetConfig.recognise(from: archive)
        _ = try? DINOConfig.recognise(store)
        _ = try? DINOConfig.recognise(store, heads: 1)
        _ = try? CLIPConfig.recognise(store)
        _ = try? CLIPConfig.recognise(store, visionHeads: 1, textHeads: 1)
        _ = try? ArcFaceConfig.recognise(store)
    }
    return 0
}
