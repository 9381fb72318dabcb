import Foundation
import Testing
@testable import Engine

/// Tokenizer parity with `clip.tokenize` / `SimpleTokenizer`: every case of every tokenizer-case file the
/// fixture manifest lists, and every prompt list stored beside a `tokens` tensor.
@Suite struct TokenizerParityTests {
    /// A JSON case file is recognised by its shape: `entries` of `text` + `ids`.
    struct CaseFile {
        let name: String
        let contextLength: Int
        let truncate: Bool
        let entries: [[String: Any]]
    }

    static func caseFiles() throws -> [CaseFile] {
        var found = [CaseFile]()
        for entry in Fixtures.files where (entry["format"] as? String) == "json" {
            guard let name = entry["file"] as? String else { continue }
            let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name)))
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let entries = object["entries"] as? [[String: Any]],
                entries.allSatisfy({ $0["text"] is String && $0["ids"] is [Any] })
            else { continue }
            found.append(
                CaseFile(
                    name: name, contextLength: object["context_length"] as? Int ?? CLIPTokenizer.defaultContextLength,
                    truncate: object["truncate"] as? Bool ?? false, entries: entries))
        }
        return found
    }

    @Test func everyTokenizerCaseMatchesUpstream() throws {
        let tokenizer = try CLIPTokenizer.shared
        let files = try Self.caseFiles()
        try #require(!files.isEmpty, "the fixture manifest lists no tokenizer case file")
        var checked = 0
        for file in files {
            for entry in file.entries {
                let text = entry["text"] as! String
                let expected = (entry["ids"] as! [Any]).map { ($0 as! NSNumber).int32Value }
                if let cleaned = entry["cleaned"] as? String {
                    #expect(CLIPTokenizer.clean(text) == cleaned, "cleaning of \(text.debugDescription) in \(file.name)")
                }
                if let bpe = entry["bpe_ids_untruncated"] as? [Any] {
                    #expect(tokenizer.encode(text) == bpe.map { ($0 as! NSNumber).intValue },
                            "encode of \(text.debugDescription) in \(file.name)")
                }
                let row = try tokenizer.tokenize([text], contextLength: file.contextLength, truncate: file.truncate)
                #expect(row == [expected], "tokenize of \(text.debugDescription) in \(file.name)")
                checked += 1
            }
        }
        #expect(checked > 0)
    }

    /// Fixture files that store `prompts` in the manifest next to a `tokens` tensor (clip.tokenize output).
    @Test func storedPromptTokensMatchUpstream() throws {
        let tokenizer = try CLIPTokenizer.shared
        var checked = 0
        for entry in Fixtures.files {
            guard let prompts = entry["prompts"] as? [String], let name = entry["file"] as? String,
                let tensors = entry["tensors"] as? [String: Any], tensors["tokens"] != nil
            else { continue }
            let stored = try Fixtures.safetensors(name).tensor(named: "tokens")
            try #require(stored.shape.count == 2 && stored.shape[0] == prompts.count, "\(name): tokens shape")
            let rows = try tokenizer.tokenize(prompts, contextLength: stored.shape[1])
            #expect(rows.flatMap { $0 }.map(Float.init) == stored.scalars, "\(name): tokens of \(prompts)")
            checked += 1
        }
        try #require(checked > 0, "the fixture manifest has no prompts stored with a tokens tensor")
    }
}
