/// What transformers' SiglipTokenizer does around SentencePiece (SigLIP v1 checkpoints ship only `spiece.model`):
/// the whole text gets a "▁" in front (literal "▁" become spaces) before special tokens are split out; each other
/// stretch is canonicalised — lower-cased (Python's `str.lower`), ASCII punctuation removed, whitespace runs made one
/// space, stripped — and encoded behind an "<unk>" whose pieces are dropped again; a leading lone "▁" before a
/// special token is dropped; `</s>` ends the ids unless the text already did.
struct SiglipTextRules: Sendable {
    var lowercase = true
    /// SiglipTokenizer's unk_token, encoded in front of each stretch and dropped (this is how it keeps sentencepiece
    /// from adding its own dummy prefix).
    var prefix = "<unk>"
    var eosId: Int

    static let punctuation = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)

    func canonicalize(_ text: String) -> String {
        let lowered = lowercase ? Self.pythonLower(text) : text
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for s in lowered.unicodeScalars where !Self.punctuation.contains(s) {
            if Self.isPythonSpace(s) { pendingSpace = true; continue }
            if pendingSpace, !out.isEmpty { out.append(" ") }
            pendingSpace = false
            out.append(s)
        }
        return String(out)
    }

    /// Python's `str.isspace`: Unicode White_Space plus the information separators U+001C…U+001F.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || (0x1C...0x1F).contains(s.value)
    }

    /// Python's `str.lower`: full lower-case mappings, and Σ becomes ς at the end of a word (final sigma).
    static func pythonLower(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text.lowercased() }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (i, s) in scalars.enumerated() {
            if s == "\u{03A3}" {
                func cased(_ c: Unicode.Scalar) -> Bool { c.properties.isCased }
                func ignorable(_ c: Unicode.Scalar) -> Bool { c.properties.isCaseIgnorable }
                var j = i - 1
                while j >= 0, ignorable(scalars[j]) { j -= 1 }
                let before = j >= 0 && cased(scalars[j])
                var k = i + 1
                while k < scalars.count, ignorable(scalars[k]) { k += 1 }
                let after = k < scalars.count && cased(scalars[k])
                out.append(before && !after ? "\u{03C2}" : "\u{03C3}")
                continue
            }
            out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
        }
        return String(out)
    }
}
