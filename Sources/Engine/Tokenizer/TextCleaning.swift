import Foundation

/// CLIP's `whitespace_clean(basic_clean(text)).lower()`.
enum TextCleaning {
    static func clean(_ text: String) -> String {
        // basic_clean: ftfy.fix_text, html.unescape twice, strip.
        var s = TextFixer.fixText(text)
        s = HTMLUnescape.unescape(HTMLUnescape.unescape(s))
        // whitespace_clean: every \s+ run → " ", strip. (Python's strip also trims U+001C...U+001F, but
        // ftfy removes those and html.unescape never produces them, so White_Space serves both steps.)
        var folded = String.UnicodeScalarView()
        var pendingSpace = false
        for c in s.unicodeScalars {
            if PreTokenizer.isWhitespace(c) {
                pendingSpace = true
            } else {
                if pendingSpace, !folded.isEmpty { folded.append(" ") }
                pendingSpace = false
                folded.append(c)
            }
        }
        return lowercase(String(folded))
    }

    /// Python's `str.lower()`: full Unicode lowercase mapping, with capital sigma becoming final sigma at
    /// the end of a word.
    static func lowercase(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{03A3}") else { return text.lowercased() }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, c) in s.enumerated() {
            if c == "\u{03A3}" {
                out.append(isFinalSigma(s, i) ? "\u{03C2}" : "\u{03C3}")
            } else {
                out.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }

    /// Unicode's Final_Sigma condition: a cased letter before (skipping case-ignorable ones) and none after.
    private static func isFinalSigma(_ s: [Unicode.Scalar], _ i: Int) -> Bool {
        var j = i - 1
        while j >= 0, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, s[j].properties.isCased else { return false }
        var k = i + 1
        while k < s.count, s[k].properties.isCaseIgnorable { k += 1 }
        return !(k < s.count && s[k].properties.isCased)
    }
}
