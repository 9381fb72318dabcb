/// Python's `html.unescape` (HTML5 rules), which CLIP's `basic_clean` applies twice, and ftfy's
/// stricter entity decoding (only `&name;` / `&#…;` forms, plus all-caps Latin names).
enum HTMLUnescape {
    // MARK: Python html.unescape

    /// Replaces every named or numeric character reference the way Python's `html.unescape` does:
    /// numeric references with the HTML5 fix-ups for invalid code points, named references by the
    /// longest known prefix (so legacy names such as "&amp" work without a semicolon).
    static func unescape(_ text: String) -> String {
        guard text.unicodeScalars.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            guard s[i] == "&", i + 1 < s.count else {
                out.append(s[i]); i += 1; continue
            }
            if let (replacement, end) = reference(in: s, at: i) {
                out.append(contentsOf: replacement.unicodeScalars)
                i = end
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }

    /// The reference starting with the "&" at `start`: its replacement and the index after it, or nil
    /// when nothing there parses as a reference (the "&" then stays literal).
    private static func reference(in s: [Unicode.Scalar], at start: Int) -> (String, Int)? {
        var j = start + 1
        if s[j] == "#" {
            j += 1
            var hex = false
            if j < s.count, s[j] == "x" || s[j] == "X", j + 1 < s.count, hexValue(s[j + 1]) != nil {
                hex = true; j += 1
            } else if !(j < s.count && decimalValue(s[j]) != nil) {
                return nil  // "&#" not followed by digits matches none of the reference forms
            }
            var value: UInt64 = 0
            let limit: UInt64 = 0x110000  // anything larger is out of range; stop growing
            while j < s.count, let digit = hex ? hexValue(s[j]) : decimalValue(s[j]) {
                value = min(value * (hex ? 16 : 10) + UInt64(digit), limit)
                j += 1
            }
            if j < s.count, s[j] == ";" { j += 1 }
            return (numericReplacement(value), j)
        }
        // Named: 1...32 characters outside "\t\n\f <&#;", then an optional ";".
        var name = String.UnicodeScalarView()
        while j < s.count, name.count < 32, !namedStop(s[j]) {
            name.append(s[j]); j += 1
        }
        if name.isEmpty { return nil }
        if j < s.count, s[j] == ";" { name.append(";"); j += 1 }
        let candidate = String(name)
        let table = HTMLEntityTable.entities
        if let value = table[candidate] { return (value, j) }
        // Longest prefix of at least two characters that is a (legacy, semicolon-less) name.
        let scalars = Array(name)
        var length = scalars.count - 1
        while length >= 2 {
            var prefix = String.UnicodeScalarView()
            prefix.append(contentsOf: scalars[0..<length])
            if let value = table[String(prefix)] {
                var rest = String.UnicodeScalarView()
                rest.append(contentsOf: scalars[length...])
                return (value + String(rest), j)
            }
            length -= 1
        }
        return ("&" + candidate, j)
    }

    private static func namedStop(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "\t", "\n", "\u{0C}", " ", "<", "&", "#", ";": return true
        default: return false
        }
    }

    private static func decimalValue(_ c: Unicode.Scalar) -> UInt32? {
        (0x30...0x39).contains(c.value) ? c.value - 0x30 : nil
    }

    private static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c.value {
        case 0x30...0x39: return c.value - 0x30
        case 0x41...0x46: return c.value - 0x41 + 10
        case 0x61...0x66: return c.value - 0x61 + 10
        default: return nil
        }
    }

    /// HTML5 numeric reference rules as Python implements them.
    private static func numericReplacement(_ value: UInt64) -> String {
        if value == 0 { return "\u{FFFD}" }
        if value == 0x0D { return "\r" }
        if (0x80...0x9F).contains(value) {
            // Windows-1252 reinterpretation; its five undefined bytes stay as the C1 code point.
            return String(Character(Windows1252.sloppyDecode(UInt8(value))))
        }
        if (0xD800...0xDFFF).contains(value) || value > 0x10FFFF { return "\u{FFFD}" }
        let v = UInt32(value)
        if (0x1...0x8).contains(v) || v == 0xB || (0xE...0x1F).contains(v) || (0x7F...0x9F).contains(v)
            || (0xFDD0...0xFDEF).contains(v) || (v & 0xFFFE) == 0xFFFE
        {
            return ""  // control characters and noncharacters are dropped
        }
        return String(Character(Unicode.Scalar(v)!))
    }

    // MARK: ftfy unescape_html

    /// ftfy's `unescape_html`: decodes only references of the form `&[#]alnum{1,24};` — named ones that
    /// HTML5 defines with a semicolon, all-caps spellings of lowercase names (e.g. "&EACUTE;" → "É"),
    /// and numeric ones Python decodes whole.
    static func unescapeStrict(_ text: String) -> String {
        guard text.unicodeScalars.contains("&") else { return text }
        let s = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < s.count {
            if s[i] == "&", let end = strictReferenceEnd(s, i) {
                var reference = String.UnicodeScalarView()
                reference.append(contentsOf: s[i..<end])
                out.append(contentsOf: strictReplacement(String(reference)).unicodeScalars)
                i = end
            } else {
                out.append(s[i]); i += 1
            }
        }
        return String(out)
    }

    /// End index (after ";") of a match of `&#?[0-9A-Za-z]{1,24};` at `start`, or nil.
    private static func strictReferenceEnd(_ s: [Unicode.Scalar], _ start: Int) -> Int? {
        func isAlnum(_ c: Unicode.Scalar) -> Bool {
            (0x30...0x39).contains(c.value) || (0x41...0x5A).contains(c.value) || (0x61...0x7A).contains(c.value)
        }
        func run(from j: Int) -> Int? {
            var k = j
            while k < s.count, isAlnum(s[k]) { k += 1 }
            // The regex backtracks within 1...24 alphanumerics; only an exact ";" after the run can end it.
            let length = k - j
            guard length >= 1, length <= 24, k < s.count, s[k] == ";" else { return nil }
            return k + 1
        }
        if start + 1 < s.count, s[start + 1] == "#", let end = run(from: start + 2) { return end }
        return run(from: start + 1)
    }

    private static func strictReplacement(_ reference: String) -> String {
        if let value = strictEntities[reference] { return value }
        if reference.hasPrefix("&#") {
            let decoded = unescape(reference)
            return decoded.contains(";") ? reference : decoded
        }
        return reference
    }

    /// ftfy's entity table: "&name;" for every HTML5 name with a semicolon, plus upper-cased spellings of
    /// all-lowercase names when that spelling means nothing to `html.unescape` (value upper-cased too).
    private static let strictEntities: [String: String] = {
        var table: [String: String] = [:]
        for (name, value) in HTMLEntityTable.entities where name.hasSuffix(";") {
            table["&" + name] = value
        }
        for (name, value) in HTMLEntityTable.entities where name.hasSuffix(";") && name == name.lowercased() {
            let upper = "&" + name.uppercased()
            if unescape(upper) == upper {
                table[upper] = value.uppercased()
            }
        }
        return table
    }()
}
