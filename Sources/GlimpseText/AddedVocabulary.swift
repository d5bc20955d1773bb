/// A token the tokenizer.json lists under `added_tokens`: split out of the text before the model sees it.
struct AddedToken {
    let id: Int
    let content: String
    let special: Bool
    let singleWord: Bool
    let lstrip: Bool
    let rstrip: Bool
    /// Matched on normalized text (its content normalized too) rather than on the raw text.
    let normalized: Bool
}

/// Finds added tokens in text: leftmost match, longest on ties, honouring single_word, lstrip and rstrip.
struct AddedVocabulary {
    /// Tokens by their first scalar, longest first.
    private let byFirst: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]]

    init(_ tokens: [AddedToken], content: (AddedToken) -> String) {
        var table: [Unicode.Scalar: [(scalars: [Unicode.Scalar], token: AddedToken)]] = [:]
        for t in tokens {
            let scalars = Array(content(t).unicodeScalars)
            guard let first = scalars.first else { continue }
            table[first, default: []].append((scalars, t))
        }
        byFirst = table.mapValues { $0.sorted { $0.scalars.count > $1.scalars.count } }
    }

    var isEmpty: Bool { byFirst.isEmpty }

    /// The text cut into plain stretches (token nil) and added tokens, in order; plain stretches carry their
    /// UTF-16 offset in `text`.
    func split(_ text: String) -> [(text: String, offset: Int, token: AddedToken?)] {
        guard !byFirst.isEmpty else { return [(text, 0, nil)] }
        let s = Array(text.unicodeScalars)
        var utf16Offsets = [Int](repeating: 0, count: s.count + 1)
        for (i, c) in s.enumerated() { utf16Offsets[i + 1] = utf16Offsets[i] + (c.value > 0xFFFF ? 2 : 1) }
        func isWordChar(_ c: Unicode.Scalar) -> Bool { c.properties.isAlphabetic || c.properties.numericType != nil || c == "_" }
        var out: [(String, Int, AddedToken?)] = []
        var plainStart = 0
        var i = 0
        func flush(_ end: Int) {
            if end > plainStart { out.append((String(String.UnicodeScalarView(s[plainStart..<end])), utf16Offsets[plainStart], nil)) }
        }
        while i < s.count {
            var matched: (start: Int, end: Int, token: AddedToken)?
            if let candidates = byFirst[s[i]] {
                for (scalars, token) in candidates where i + scalars.count <= s.count && Array(s[i..<(i + scalars.count)]) == scalars {
                    let end = i + scalars.count
                    if token.singleWord {
                        if i > 0 && isWordChar(s[i - 1]) { continue }
                        if end < s.count && isWordChar(s[end]) { continue }
                    }
                    matched = (i, end, token)
                    break
                }
            }
            guard var m = matched else { i += 1; continue }
            if m.token.lstrip { while m.start > plainStart, s[m.start - 1].properties.isWhitespace { m.start -= 1 } }
            if m.token.rstrip { while m.end < s.count, s[m.end].properties.isWhitespace { m.end += 1 } }
            flush(m.start)
            // The token's spelling includes the whitespace lstrip / rstrip took in (as tokenizers reports it).
            out.append((String(String.UnicodeScalarView(s[m.start..<m.end])), utf16Offsets[m.start], m.token))
            plainStart = m.end
            i = m.end
        }
        flush(s.count)
        return out
    }
}
