import Foundation

/// WordPiece: greedy longest-match-first over each word; pieces after the first carry `continuing_subword_prefix`
/// ("##"); a word with no full cover, or longer than `max_input_chars_per_word`, is the unk token.
final class WordPieceModel: TokenizerModel, @unchecked Sendable {
    let vocab: Vocabulary
    let tokens: [Int: String]
    let unkToken: String
    let prefix: String
    let maxInputCharsPerWord: Int

    var typeName: String { "WordPiece" }
    var vocabularySize: Int { vocab.count }

    init(vocab: Vocabulary, unkToken: String, prefix: String, maxInputCharsPerWord: Int) {
        self.vocab = vocab; tokens = vocab.inverted(); self.unkToken = unkToken; self.prefix = prefix
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    static func load(_ c: Component) throws -> WordPieceModel {
        let vocab = try Vocabulary(c)
        return WordPieceModel(vocab: vocab, unkToken: c.optionalString("unk_token") ?? "[UNK]",
                              prefix: c.optionalString("continuing_subword_prefix") ?? "##",
                              maxInputCharsPerWord: c.int("max_input_chars_per_word") ?? 100)
    }

    /// A `vocab.txt`: one token per line, ids in line order.
    static func vocabulary(vocabTXT path: String) throws -> [(String, Int)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TokenizerError.unreadable(path: path, reason: "cannot read as UTF-8 text")
        }
        var vocab = Vocabulary()
        var ordered: [(String, Int)] = []
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        for (i, line) in lines.enumerated() {
            let token = line.hasSuffix("\r") ? String(line.dropLast()) : line
            if vocab[token] == nil { vocab[token] = i; ordered.append((token, i)) }
        }
        return ordered
    }

    func id(of token: String) -> Int? { vocab[token] }
    func token(of id: Int) -> String? { tokens[id] }

    func tokenize(_ word: String) -> [(id: Int, token: String)] {
        let scalars = Array(word.unicodeScalars)
        let unk = [(vocab[unkToken] ?? 0, unkToken)]
        if scalars.count > maxInputCharsPerWord { return unk }
        var out: [(Int, String)] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: (Int, String)?
            while start < end {
                var s = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { s = prefix + s }
                if let id = vocab[s] { found = (id, s); break }
                end -= 1
            }
            guard let f = found else { return unk }
            out.append(f)
            start = end
        }
        return out
    }
}
