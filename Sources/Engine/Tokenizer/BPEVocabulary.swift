/// CLIP's byte-level BPE vocabulary built from the merges file exactly as `SimpleTokenizer.__init__` does:
/// ids 0...255 the byte characters in `bytes_to_unicode` order, 256...511 the same with "</w>", then one id
/// per merge (the merged string), then "<|startoftext|>" and "<|endoftext|>".
struct BPEVocabulary: Sendable {
    /// Merges used: 49152 − 256 − 2 (the file has more lines; upstream slices `[1 : 49152−256−2+1]`).
    static let mergeCount = 49152 - 256 - 2
    static let startOfText = "<|startoftext|>"
    static let endOfText = "<|endoftext|>"

    /// `bytes_to_unicode`: byte → the printable character standing for it.
    let byteToUnicode: [Unicode.Scalar]
    /// Byte → token id of its single-character token.
    let byteToID: [Int32]
    /// Token id → token string (byte characters, "</w>" marking a word end).
    let tokens: [String]
    /// Token string → id; where two ids share a string the later one wins, as in upstream's dict.
    let encoder: [String: Int32]
    /// Number of merges read.
    let merges: Int
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    private let mergeTable: [UInt64: UInt64]
    /// Token id → the raw bytes it stands for ("</w>" kept as its four ASCII bytes).
    let tokenBytes: [[UInt8]]

    /// `bytes_to_unicode`: the 188 printable Latin-1 bytes keep their code point; the other 68 bytes, in
    /// ascending order, take U+0100 onwards. Returned in dict order (printable ones first).
    static func byteCharacterOrder() -> [(byte: UInt8, character: Unicode.Scalar)] {
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        var order = printable.map { (byte: UInt8($0), character: Unicode.Scalar(UInt32($0))!) }
        let printableSet = Set(printable)
        var n: UInt32 = 0
        for b in 0...255 where !printableSet.contains(b) {
            order.append((byte: UInt8(b), character: Unicode.Scalar(256 + n)!))
            n += 1
        }
        return order
    }

    /// Parses the decompressed merges file (UTF-8 lines; line 0 is a header).
    init(mergesFile bytes: [UInt8]) throws {
        let order = Self.byteCharacterOrder()
        var byteToUnicode = [Unicode.Scalar](repeating: "\0", count: 256)
        var byteToID = [Int32](repeating: 0, count: 256)
        var unicodeToByte = [UInt8?](repeating: nil, count: 0x144)  // byte characters are U+0021...U+0143
        for (index, entry) in order.enumerated() {
            byteToUnicode[Int(entry.byte)] = entry.character
            byteToID[Int(entry.byte)] = Int32(index)
            unicodeToByte[Int(entry.character.value)] = entry.byte
        }

        // Lines 1...mergeCount (split on "\n" only, as Python's str.split("\n")).
        var lineStarts = [0]
        lineStarts.reserveCapacity(Self.mergeCount + 2)
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lineStarts.append(i + 1)
            if lineStarts.count > Self.mergeCount + 1 { break }
        }
        guard lineStarts.count > Self.mergeCount + 1 else {
            throw TokenizerError.vocabulary(
                reason: "merges file has \(lineStarts.count - 1) merge lines, need \(Self.mergeCount)")
        }
        var mergePairs = [[String]]()
        mergePairs.reserveCapacity(Self.mergeCount)
        for line in 1...Self.mergeCount {
            let end = lineStarts[line + 1] - 1  // index of the "\n" closing this line
            guard let text = TextFixer.strictUTF8(Array(bytes[lineStarts[line]..<end])) else {
                throw TokenizerError.vocabulary(reason: "merge line \(line) is not valid UTF-8")
            }
            // Python's str.split(): runs of whitespace (str.isspace), ignoring leading/trailing ones.
            let parts = text.unicodeScalars.split(whereSeparator: {
                $0.properties.isWhitespace || (0x1C...0x1F).contains($0.value)
            })
            mergePairs.append(parts.map { String($0) })
        }

        var tokens = order.map { String(Character($0.character)) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += mergePairs.map { $0.joined() }
        tokens += [Self.startOfText, Self.endOfText]
        var encoder: [String: Int32] = [:]
        encoder.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() { encoder[token] = Int32(id) }

        var mergeTable: [UInt64: UInt64] = [:]
        mergeTable.reserveCapacity(mergePairs.count)
        for (rank, pair) in mergePairs.enumerated() where pair.count == 2 {
            // A pair whose halves are not tokens can never be adjacent symbols; it never applies.
            guard let left = encoder[pair[0]], let right = encoder[pair[1]], let merged = encoder[pair[0] + pair[1]]
            else { continue }
            mergeTable[UInt64(left) << 32 | UInt64(right)] = UInt64(rank) << 32 | UInt64(merged)
        }

        var tokenBytes = [[UInt8]]()
        tokenBytes.reserveCapacity(tokens.count)
        for token in tokens {
            var raw = [UInt8]()
            for c in token.unicodeScalars {
                guard Int(c.value) < unicodeToByte.count, let b = unicodeToByte[Int(c.value)] else {
                    throw TokenizerError.vocabulary(reason: "token \"\(token)\" has a character outside the byte alphabet")
                }
                raw.append(b)
            }
            tokenBytes.append(raw)
        }

        self.byteToUnicode = byteToUnicode
        self.byteToID = byteToID
        self.tokens = tokens
        self.encoder = encoder
        self.merges = mergePairs.count
        self.mergeTable = mergeTable
        self.tokenBytes = tokenBytes
    }

    /// Byte-pair encoding of one pre-token's UTF-8 bytes: start from one symbol per byte (the last one
    /// marked "</w>"), then repeatedly merge every non-overlapping occurrence, left to right, of the adjacent
    /// pair with the lowest merge rank, until no adjacent pair is a merge.
    func encodeWord(_ bytes: [UInt8]) -> [Int32] {
        guard !bytes.isEmpty else { return [] }
        var symbols = bytes.map { byteToID[Int($0)] }
        symbols[symbols.count - 1] += 256  // the "</w>" variant of a byte token is 256 ids later
        while symbols.count > 1 {
            var best = UInt64.max
            for i in 0..<(symbols.count - 1) {
                if let entry = mergeTable[UInt64(symbols[i]) << 32 | UInt64(symbols[i + 1])], entry < best {
                    best = entry
                }
            }
            guard best != .max else { break }
            let merged = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            let rank = best >> 32
            var next = [Int32]()
            next.reserveCapacity(symbols.count - 1)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count,
                    let entry = mergeTable[UInt64(symbols[i]) << 32 | UInt64(symbols[i + 1])], entry >> 32 == rank
                {
                    next.append(merged)
                    i += 2
                } else {
                    next.append(symbols[i])
                    i += 1
                }
            }
            symbols = next
        }
        return symbols
    }
}
