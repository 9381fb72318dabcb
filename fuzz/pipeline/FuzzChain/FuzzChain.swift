import StyleFilter
import StyleFilterCommands

/// The command line's chain syntax: the input's lines are the words after the global options
/// (`thumbnail`, `512x512`, `+`, `crop`, ...), parsed into stages by ArgumentParser and the stage
/// commands. Nothing is read or run: a clean error or stages, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChain(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let words = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    _ = try? StageCommands.parseStages(words)
    return 0
}
