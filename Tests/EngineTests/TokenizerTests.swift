import Foundation
import Testing
@testable import Engine

@Suite struct TokenizerTests {
    @Test func byteAlphabetFollowsUpstreamOrder() {
        let order = BPEVocabulary.byteCharacterOrder()
        #expect(order.count == 256)
        #expect(Set(order.map(\.byte)).count == 256)
        #expect(Set(order.map(\.character)).count == 256)
        #expect(order[0].character == "!" && order[93].character == "~" && order[94].character == "¡")
        #expect(order[188].byte == 0 && order[188].character == "\u{100}")
        #expect(order[255].character == "\u{143}")
        // Bytes that stand for themselves are exactly the printable Latin-1 ones except the soft hyphen.
        for entry in order where entry.character.value < 256 {
            #expect(entry.byte == UInt8(entry.character.value) && entry.byte != 0xAD)
        }
    }

    @Test func vocabularyShape() throws {
        let tokenizer = try CLIPTokenizer.shared
        #expect(tokenizer.mergeCount == 48_894)
        #expect(tokenizer.vocabularySize == 49_408)
        #expect(tokenizer.startOfTextID == 49_406 && tokenizer.endOfTextID == 49_407)
        let tokens = tokenizer.vocabulary.tokens
        #expect(tokens[256] == "!</w>" && tokens[511] == "\u{143}</w>")
        #expect(tokens[512] == "in" && tokens[513] == "th" && tokens[514] == "an")
        #expect(tokens[49_405] == "jekyll</w>")
        #expect(tokenizer.vocabulary.encoder["<|endoftext|>"] == 49_407)
    }

    @Test func specVectors() throws {
        let t = try CLIPTokenizer.shared
        #expect(t.encode("a photo of a cat.") == [320, 1125, 539, 320, 2368, 269])
        #expect(t.encode("Black Leopard") == [1449, 15931])
        #expect(t.encode("it's 2023!!  hello   world") == [585, 568, 273, 271, 273, 274, 748, 3306, 1002])
        #expect(t.encode("<|startoftext|> x <|endoftext|>").first == 49_406)
    }

    @Test func tokenizePadsAndTruncates() throws {
        let t = try CLIPTokenizer.shared
        let rows = try t.tokenize(["Lion", ""])
        #expect(rows[0].prefix(3) == [49_406, 5567, 49_407] && rows[0].count == 77 && rows[0].dropFirst(3).allSatisfy { $0 == 0 })
        #expect(rows[1].prefix(2) == [49_406, 49_407])
        let long = Array(repeating: "cat", count: 100).joined(separator: " ")
        #expect(throws: TokenizerError.self) { try t.tokenize([long]) }
        let cut = try t.tokenize([long], truncate: true)[0]
        #expect(cut.count == 77 && cut[0] == 49_406 && cut[76] == 49_407 && cut[75] == cut[1])
        let exact = try t.tokenize([Array(repeating: "cat", count: 75).joined(separator: " ")])[0]
        #expect(exact[76] == 49_407)
        #expect(throws: TokenizerError.self) { try t.tokenize(["a"], contextLength: 1) }
    }

    @Test func decodeInvertsEncode() throws {
        let t = try CLIPTokenizer.shared
        #expect(try t.decode(t.encode("a photo of a café, 3 cats!")) == "a photo of a café , 3 cats ! ")
        #expect(try t.decode([49_406, 320, 49_407]) == "<|startoftext|>a <|endoftext|>")
        #expect(throws: TokenizerError.self) { try t.decode([49_408]) }
    }

    @Test func cleaningFollowsPythonRules() {
        // html.unescape: legacy names without ";", longest prefix, numeric fix-ups, out-of-range numbers.
        #expect(HTMLUnescape.unescape("&amp &ampx &notit; &#128; &#0; &#x110000; &#1; &#65 &#x41;") ==
                "& &x ¬it; € \u{FFFD} \u{FFFD}  A A")
        #expect(HTMLUnescape.unescape("&unknown; &#; &") == "&unknown; &#; &")
        // ftfy's stricter decoding: needs the ";", knows all-caps names.
        #expect(HTMLUnescape.unescapeStrict("&amp &EACUTE; &eacute;") == "&amp É é")
        #expect(TextFixer.fixText("“quoted” ‘single’ ﬁne ＡＢＣ\u{3000}x") == "\"quoted\" 'single' fine ABC x")
        #expect(TextFixer.fixText("cafÃ© â€œokâ€\u{9D}") == "café \"ok\"")
        #expect(TextFixer.fixText("a\u{1B}[31mred\u{1B}[0m\u{0}\u{FEFF}b\r\nc") == "aredb\nc")
        #expect(TextCleaning.lowercase("ΟΔΟΣ ΣΑ") == "οδος σα")
        #expect(CLIPTokenizer.clean("  A\u{A0}B\t\nC  ") == "a b c")
    }
}
