import Foundation

/// The part of `ftfy.fix_text` (ftfy 6.x, default settings) that CLIP's `basic_clean` relies on, re-done
/// by hand. Implemented: HTML entity decoding in "auto" mode, mojibake repair for UTF-8 misread as
/// Latin-1 / Windows-1252 (whole text or embedded runs), C1 control fix-up, Latin ligature expansion,
/// full-/half-width folding, quote uncurling, line-break unification, terminal-escape and control-character
/// removal and NFC, repeated until nothing changes, per line as ftfy does.
///
/// Not implemented (ftfy would fix these, this leaves them): mojibake through other code pages
/// (Windows-1250/1251/1253/1254/1257, ISO-8859-2, MacRoman, CP437), the "lost no-break space" and lossy-sequence
/// repairs, and CESU-8 / Java "modified UTF-8" decoding. Mojibake detection is a simpler test than ftfy's
/// badness heuristic: a valid multi-byte UTF-8 sequence spelled in Latin-1 / Windows-1252 characters, with a
/// lead from the blocks mojibake usually comes from and not made only of everyday punctuation. Against ftfy
/// 6.3.1 on random prompts this agrees on all text except some short mojibake runs ftfy leaves alone (or
/// fixes only in context) and an upper-case accented letter glued to a symbol such as "²".
enum TextFixer {
    static func fixText(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        var out = ""
        var unescapeHTML = true
        var start = 0
        while start < scalars.count {
            var end = start
            while end < scalars.count, scalars[end] != "\n" { end += 1 }
            if end < scalars.count { end += 1 }  // the segment keeps its "\n"
            var segment = String.UnicodeScalarView()
            segment.append(contentsOf: scalars[start..<end])
            // ftfy's "auto" mode: text that contains "<" looks like HTML source; from here on leave entities.
            if segment.contains("<") { unescapeHTML = false }
            out += fixSegment(String(segment), unescapeHTML: unescapeHTML)
            start = end
        }
        return out
    }

    static func fixSegment(_ segment: String, unescapeHTML: Bool) -> String {
        var text = segment
        while true {
            let original = text
            if unescapeHTML { text = HTMLUnescape.unescapeStrict(text) }
            text = fixEncoding(text)
            text = mapScalars(text) { c in
                (0x80...0x9F).contains(c.value) ? [Windows1252.sloppyDecode(UInt8(c.value))] : nil
            }
            text = mapScalars(text) { ligatures[$0.value].map { Array($0.unicodeScalars) } }
            text = mapScalars(text) { widthMap[$0.value].map { Array($0.unicodeScalars) } }
            text = mapScalars(text) { c in
                if c.value == 0x2BC || (0x2018...0x201B).contains(c.value) { return ["'"] }
                if (0x201C...0x201F).contains(c.value) { return ["\""] }
                return nil
            }
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = mapScalars(text) { isRemovedControl($0) ? [] : nil }
            text = text.precomposedStringWithCanonicalMapping
            if text.unicodeScalars.elementsEqual(original.unicodeScalars) { return text }
        }
    }

    // MARK: Simple per-character fixes

    private static func mapScalars(_ text: String, _ transform: (Unicode.Scalar) -> [Unicode.Scalar]?) -> String {
        var out = String.UnicodeScalarView()
        var changed = false
        for c in text.unicodeScalars {
            if let replacement = transform(c) {
                out.append(contentsOf: replacement); changed = true
            } else {
                out.append(c)
            }
        }
        return changed ? String(out) : text
    }

    /// Latin ligatures and digraphs ftfy splits (typographic ff/fi/fl/ffi/ffl/ſt/st, Dutch ĳ,
    /// Afrikaans ŉ, Serbo-Croatian DŽ/LJ/NJ/DZ); their compatibility decompositions.
    private static let ligatures: [UInt32: String] = {
        let scalars: [UInt32] = [0x132, 0x133, 0x149, 0x1C4, 0x1C5, 0x1C6, 0x1C7, 0x1C8, 0x1C9, 0x1CA, 0x1CB,
                                 0x1CC, 0x1F1, 0x1F2, 0x1F3, 0xFB00, 0xFB01, 0xFB02, 0xFB03, 0xFB04, 0xFB05, 0xFB06]
        var table: [UInt32: String] = [:]
        for value in scalars {
            table[value] = String(Character(Unicode.Scalar(value)!)).decomposedStringWithCompatibilityMapping
                .precomposedStringWithCanonicalMapping
        }
        return table
    }()

    /// Full-width and half-width forms (U+FF01...U+FFEF) folded to their NFKC form, and the ideographic
    /// space to a plain space.
    private static let widthMap: [UInt32: String] = {
        var table: [UInt32: String] = [0x3000: " "]
        for value in UInt32(0xFF01)..<0xFFF0 {
            guard let scalar = Unicode.Scalar(value) else { continue }
            let original = String(Character(scalar))
            let folded = original.precomposedStringWithCompatibilityMapping
            if !folded.unicodeScalars.elementsEqual(original.unicodeScalars) { table[value] = folded }
        }
        return table
    }()

    private static func isRemovedControl(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
        default: return false
        }
    }

    /// CRLF, CR, U+2028, U+2029 and NEL become "\n".
    private static func fixLineBreaks(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { [0x0D, 0x85, 0x2028, 0x2029].contains($0.value) }) else {
            return text
        }
        var out = String.UnicodeScalarView()
        let s = Array(text.unicodeScalars)
        var i = 0
        while i < s.count {
            switch s[i].value {
            case 0x0D:
                out.append("\n")
                if i + 1 < s.count, s[i + 1] == "\n" { i += 1 }
            case 0x85, 0x2028, 0x2029: out.append("\n")
            default: out.append(s[i])
            }
            i += 1
        }
        return String(out)
    }

    /// Removes ANSI terminal escapes: ESC "[" (digits or ";")* letter.
    private static func removeTerminalEscapes(_ text: String) -> String {
        guard text.unicodeScalars.contains("\u{1B}") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if s[i] == "\u{1B}", i + 1 < s.count, s[i + 1] == "[" {
                var j = i + 2
                while j < s.count, s[j].properties.numericType == .decimal || s[j] == ";" { j += 1 }
                if j < s.count, s[j].isASCII, s[j].properties.isAlphabetic {
                    i = j + 1
                    continue
                }
            }
            out.append(s[i]); i += 1
        }
        return String(out)
    }

    // MARK: Mojibake

    /// ftfy's `fix_encoding`: one repair step at a time until the text stops changing.
    static func fixEncoding(_ text: String) -> String {
        var current = text
        while true {
            let next = fixEncodingStep(current)
            if next.unicodeScalars.elementsEqual(current.unicodeScalars) { return current }
            current = next
        }
    }

    private static func fixEncodingStep(_ text: String) -> String {
        let s = Array(text.unicodeScalars)
        if s.allSatisfy({ $0.isASCII }) || !looksLikeMojibake(s[...]) { return text }

        // Whole text re-read: encode as Latin-1, else Windows-1252, and decode as UTF-8.
        let latin1 = s.allSatisfy { $0.value < 0x100 } ? s.map { UInt8($0.value) } : nil
        let cp1252: [UInt8]? = {
            var bytes = [UInt8]()
            bytes.reserveCapacity(s.count)
            for c in s {
                guard let b = Windows1252.sloppyEncode(c) else { return nil }
                bytes.append(b)
            }
            return bytes
        }()
        for bytes in [latin1, cp1252] {
            if let bytes, let decoded = strictUTF8(bytes) { return decoded }
        }

        // Mojibake embedded in otherwise sound text: repair each run on its own.
        let embedded = fixEmbedded(s)
        if !embedded.unicodeScalars.elementsEqual(s) { return embedded }

        // Latin-1 text with C1 controls: those were meant as Windows-1252.
        if let latin1, !latin1.contains(where: Windows1252.isUndefined) {
            var out = String.UnicodeScalarView()
            for b in latin1 { out.append(Windows1252.sloppyDecode(b)) }
            let fixed = String(out)
            if !fixed.unicodeScalars.elementsEqual(s) { return fixed }
        }
        return text
    }

    /// The Windows-1252 byte a character stands for when it appears in mojibake.
    private static func mojibakeByte(_ c: Unicode.Scalar) -> UInt8? {
        c.value < 0x100 ? UInt8(c.value) : Windows1252.sloppyEncode(c)
    }

    private static func isContinuation(_ c: Unicode.Scalar) -> Bool {
        guard let b = mojibakeByte(c) else { return false }
        return (0x80...0xBF).contains(b)
    }

    /// Continuation characters that are common in sound text (no-break space, soft hyphen, middle dot,
    /// acute accent, dashes, ellipsis, apostrophe): a sequence built only from these is no evidence of
    /// mojibake ("Fuß…" stays as it is).
    private static func isCommonPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0xA0, 0xAD, 0xB7, 0xB4, 0x2013, 0x2014, 0x2015, 0x2026, 0x2019: return true
        default: return false
        }
    }

    /// Length in characters of a valid multi-byte UTF-8 sequence spelled in single-byte characters at `i`.
    private static func sequenceLength(_ s: ArraySlice<Unicode.Scalar>, _ i: Int) -> Int? {
        guard let lead = mojibakeByte(s[i]) else { return nil }
        let length: Int
        switch lead {
        // Two-byte leads only for the blocks mojibake usually comes from (Latin-1 supplement, Latin
        // Extended-A, spacing modifiers, Greek, Cyrillic, Hebrew, Arabic): an upper-case accented letter
        // followed by a symbol ("Ü€", "É¡") is ordinary all-caps text.
        case 0xC2...0xC5, 0xCB, 0xCE...0xD1, 0xD7...0xD9: length = 2
        case 0xE0...0xEF: length = 3
        case 0xF0...0xF4: length = 4
        default: return nil
        }
        guard i + length <= s.endIndex else { return nil }
        var bytes = [lead]
        // Â, Ã, Î, Ï before such punctuation are typical Latin-1 / Greek mojibake ("Â·", "Ã–", "Î·").
        var distinctive = (0xC2...0xC3).contains(lead) || (0xCE...0xCF).contains(lead)
        for k in 1..<length {
            guard let b = mojibakeByte(s[i + k]), (0x80...0xBF).contains(b) else { return nil }
            bytes.append(b)
            if !isCommonPunctuation(s[i + k]) { distinctive = true }
        }
        return distinctive && strictUTF8(bytes) != nil ? length : nil
    }

    /// Whether the text holds a character sequence that only arises from UTF-8 read as a single-byte code
    /// page, or a C1 control character.
    private static func looksLikeMojibake(_ s: ArraySlice<Unicode.Scalar>) -> Bool {
        for i in s.indices {
            if (0x80...0x9F).contains(s[i].value) { return true }
            if sequenceLength(s, i) != nil { return true }
        }
        return false
    }

    /// Repairs each maximal run of mojibake sequences that is not glued to a preceding continuation character.
    private static func fixEmbedded(_ s: [Unicode.Scalar]) -> String {
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            let glued = i > 0 && isContinuation(s[i - 1]) && !isCommonPunctuation(s[i - 1])
            if !glued, sequenceLength(s[...], i) != nil {
                var end = i
                while end < s.count, let length = sequenceLength(s[...], end) { end += length }
                var run = String.UnicodeScalarView()
                run.append(contentsOf: s[i..<end])
                if end - i < s.count {
                    out.append(contentsOf: fixEncoding(String(run)).unicodeScalars)
                } else {
                    out.append(contentsOf: run)
                }
                i = end
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }

    /// Strict UTF-8 decoding (no replacement characters): nil on any malformed sequence. Valid input
    /// round-trips byte for byte; repaired input does not, since U+FFFD's own bytes are never malformed.
    static func strictUTF8(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self)
        return text.utf8.elementsEqual(bytes) ? text : nil
    }
}
