import Foundation

/// OpenAI CLIP's byte-level BPE tokenizer (`clip/simple_tokenizer.py` and `clip.tokenize`), reproduced id for
/// id: text cleaning (ftfy-style fixes, HTML unescaping, whitespace folding, lowercasing), the pre-token
/// pattern, 48,894 merges, start/end tokens and the fixed-length, zero-padded context.
///
/// Use ``shared`` (loaded once from the bundled `bpe_simple_vocab_16e6.txt.gz`) unless you have another merges
/// file. Instances are thread-safe; encodings of pre-tokens are cached as upstream does.
public final class CLIPTokenizer: @unchecked Sendable {
    /// Id of `<|startoftext|>` (49406 with the standard vocabulary).
    public let startOfTextID: Int
    /// Id of `<|endoftext|>` (49407 with the standard vocabulary).
    public let endOfTextID: Int
    /// Number of token ids (49408 with the standard vocabulary).
    public var vocabularySize: Int { vocabulary.tokens.count }
    /// Number of BPE merges in use (48,894).
    public var mergeCount: Int { vocabulary.merges }
    /// The context length CLIP's text tower takes.
    public static let defaultContextLength = 77

    let vocabulary: BPEVocabulary
    private let lock = NSLock()
    private var cache: [String: [Int32]] = [:]

    /// The tokenizer over the bundled OpenAI CLIP vocabulary, loaded on first use.
    public static var shared: CLIPTokenizer {
        get throws { try sharedResult.get() }
    }

    private static let sharedResult: Result<CLIPTokenizer, Error> = Result {
        guard let url = Bundle.module.url(forResource: "bpe_simple_vocab_16e6.txt", withExtension: "gz") else {
            throw TokenizerError.vocabulary(reason: "bundled resource bpe_simple_vocab_16e6.txt.gz is missing")
        }
        return try CLIPTokenizer(mergesFile: url)
    }

    /// Loads a CLIP merges file (gzip-compressed like `bpe_simple_vocab_16e6.txt.gz`, or plain text).
    public convenience init(mergesFile url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.vocabulary(reason: "cannot read \(url.path): \(error.localizedDescription)")
        }
        var bytes = [UInt8](data)
        if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B { bytes = try GzipData.decompress(bytes) }
        try self.init(vocabulary: BPEVocabulary(mergesFile: bytes))
    }

    init(vocabulary: BPEVocabulary) throws {
        self.vocabulary = vocabulary
        guard let start = vocabulary.encoder[BPEVocabulary.startOfText],
            let end = vocabulary.encoder[BPEVocabulary.endOfText]
        else { throw TokenizerError.vocabulary(reason: "special tokens are missing") }
        startOfTextID = Int(start)
        endOfTextID = Int(end)
        // Upstream seeds its cache so the special tokens map to themselves rather than being split.
        cache[BPEVocabulary.startOfText] = [start]
        cache[BPEVocabulary.endOfText] = [end]
    }

    /// The text exactly as the pre-tokeniser sees it: ftfy-style fixes, HTML unescaped twice, whitespace
    /// runs folded to one space, trimmed, lowercased (`whitespace_clean(basic_clean(text)).lower()`).
    public static func clean(_ text: String) -> String { TextCleaning.clean(text) }

    /// Token ids of `text` without start/end tokens or padding (`SimpleTokenizer.encode`).
    public func encode(_ text: String) -> [Int] {
        var ids = [Int]()
        for piece in PreTokenizer.split(Self.clean(text)) {
            ids.append(contentsOf: encodePiece(piece).map(Int.init))
        }
        return ids
    }

    private func encodePiece(_ piece: String) -> [Int32] {
        lock.lock()
        let cached = cache[piece]
        lock.unlock()
        if let cached { return cached }
        let ids = vocabulary.encodeWord(Array(piece.utf8))
        lock.lock()
        cache[piece] = ids
        lock.unlock()
        return ids
    }

    /// Text of `ids` (`SimpleTokenizer.decode`): token bytes joined, decoded as UTF-8 with invalid sequences
    /// replaced by U+FFFD, each "</w>" turned into a space. Ids outside the vocabulary are an error.
    public func decode(_ ids: [Int]) throws -> String {
        var bytes = [UInt8]()
        for id in ids {
            guard vocabulary.tokenBytes.indices.contains(id) else {
                throw TokenizerError.vocabulary(reason: "token id \(id) is outside the vocabulary (0..<\(vocabularySize))")
            }
            bytes.append(contentsOf: vocabulary.tokenBytes[id])
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "</w>", with: " ")
    }

    /// `clip.tokenize`: one row per text of `contextLength` ids — start token, the text's ids, end token,
    /// zeros. A text that needs more room is an error unless `truncate` is set, which keeps the first
    /// `contextLength` ids and makes the last one the end token.
    public func tokenize(_ texts: [String], contextLength: Int = defaultContextLength, truncate: Bool = false)
        throws -> [[Int32]]
    {
        guard contextLength >= 2 else { throw TokenizerError.contextTooShort(contextLength: contextLength) }
        return try texts.map { text in
            var ids = [Int32(startOfTextID)] + encode(text).map { Int32($0) } + [Int32(endOfTextID)]
            if ids.count > contextLength {
                guard truncate else {
                    throw TokenizerError.tooLong(text: text, tokens: ids.count, contextLength: contextLength)
                }
                ids.removeLast(ids.count - contextLength)
                ids[contextLength - 1] = Int32(endOfTextID)
            }
            return ids + [Int32](repeating: 0, count: contextLength - ids.count)
        }
    }
}
