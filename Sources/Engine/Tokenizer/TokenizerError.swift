/// Why text could not be tokenised or the vocabulary could not be loaded. Each case reads as one line.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The BPE vocabulary file is missing, unreadable or malformed.
    case vocabulary(reason: String)
    /// A text needs more tokens (start and end included) than the context holds and truncation is off.
    case tooLong(text: String, tokens: Int, contextLength: Int)
    /// The context cannot hold even the start and end tokens.
    case contextTooShort(contextLength: Int)

    public var description: String {
        switch self {
        case .vocabulary(let reason):
            return "CLIP BPE vocabulary unusable: \(reason)"
        case .tooLong(let text, let tokens, let contextLength):
            let shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
            return "text \"\(shown)\" needs \(tokens) tokens, more than the context length \(contextLength); "
                + "shorten it or allow truncation"
        case .contextTooShort(let contextLength):
            return "context length \(contextLength) cannot hold the start and end tokens (need at least 2)"
        }
    }
}
