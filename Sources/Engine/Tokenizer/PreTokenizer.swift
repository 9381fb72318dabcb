/// CLIP's pre-tokenisation, the hand-written equivalent of `regex.findall` with the pattern
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// (IGNORECASE): at each position the alternatives are tried in that order; a position no alternative
/// matches (whitespace) is skipped. Works on Unicode scalars, as Python strings are code-point sequences.
enum PreTokenizer {
    private static let specials: [[Unicode.Scalar]] = [
        Array(BPEVocabulary.startOfText.unicodeScalars), Array(BPEVocabulary.endOfText.unicodeScalars),
    ]
    private static let contractions: [[Unicode.Scalar]] = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map {
        Array($0.unicodeScalars)
    }

    static func split(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var pieces = [String]()
        var i = 0
        func take(_ end: Int) {
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: s[i..<end])
            pieces.append(String(piece))
            i = end
        }
        outer: while i < s.count {
            for literal in specials + contractions where matches(literal, s, at: i) {
                take(i + literal.count)
                continue outer
            }
            let c = s[i]
            if isLetter(c) {
                var end = i + 1
                while end < s.count, isLetter(s[end]) { end += 1 }
                take(end)
            } else if isNumber(c) {
                take(i + 1)  // every digit is its own piece
            } else if !isWhitespace(c) {
                var end = i + 1
                while end < s.count, !isWhitespace(s[end]), !isLetter(s[end]), !isNumber(s[end]) { end += 1 }
                take(end)
            } else {
                i += 1
            }
        }
        return pieces
    }

    /// Case-insensitive literal match with simple case folding (so "S" and "ſ" match "s", as in `regex`).
    private static func matches(_ literal: [Unicode.Scalar], _ s: [Unicode.Scalar], at i: Int) -> Bool {
        guard i + literal.count <= s.count else { return false }
        for (k, expected) in literal.enumerated() where !foldEquals(s[i + k], expected) { return false }
        return true
    }

    private static func foldEquals(_ c: Unicode.Scalar, _ lowerASCII: Unicode.Scalar) -> Bool {
        if c == lowerASCII { return true }
        if c.isASCII { return c.value + 0x20 == lowerASCII.value && (0x41...0x5A).contains(c.value) }
        // Non-ASCII characters whose simple case folding is an ASCII letter: ſ (s) and the Kelvin sign (k).
        switch c.value {
        case 0x17F: return lowerASCII == "s"
        case 0x212A: return lowerASCII == "k"
        default: return false
        }
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\s` of the `regex` module: the Unicode White_Space property.
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
}
