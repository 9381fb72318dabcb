import Foundation
@testable import Engine

/// The CLIP tokenizer (text cleaning, HTML unescaping, BPE) on arbitrary text; invalid UTF-8 is repaired as
/// a prompt from the command line would be.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let tokenizer = try! CLIPTokenizer.shared
    _ = try? tokenizer.tokenize([text])
    _ = try? tokenizer.tokenize([text], truncate: true)
    _ = try? tokenizer.decode(tokenizer.encode(text))
    return 0
}
