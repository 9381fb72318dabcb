import StyleFilter

/// Image decoding through the bridge with the default limits, as the command reads its input: the
/// input bytes through `copy` (the whole decode) or, when the first byte is odd, `thumbnail 64x64`
/// (shrink-on-load), encoded to PNG in memory. A clean error or an image, never a trap, a hang or
/// more memory than the limits allow.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImages(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    FuzzRuntime.start()
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let stage: any Stage = data[0] & 1 == 1 ? (try? ThumbnailStage(width: 64, height: 64)) ?? CopyStage() : CopyStage()
    _ = try? Chain([stage]).encode(input: .memory(bytes), output: OutputSpec(destination: .standardOutput, suffix: ".png"))
    return 0
}

enum FuzzRuntime {
    nonisolated(unsafe) static var started = false

    static func start() {
        guard !started else { return }
        started = true
        try? Runtime.configure(threads: 1)
    }
}
