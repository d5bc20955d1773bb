import Foundation

/// SentencePiece's own encoding of a piece of text, as `SentencePieceProcessor.encode` does it: its normalizer
/// (the precompiled character map, extra whitespace removed, a dummy "▁" prefix, spaces escaped as "▁"), then
/// the Unigram lattice over the whole normalized text. Control, unknown, unused and byte pieces are never matched.
/// With `siglip`, each piece first goes through SiglipTokenizer's canonicalisation (see `SiglipTextRules`).
final class SentencePieceModel: TokenizerModel, @unchecked Sendable {
    let unigram: UnigramModel
    let charsmap: PrecompiledCharsmap?
    let file: SentencePieceModelFile
    let siglip: SiglipTextRules?
    /// How many pieces SiglipTokenizer's "<unk>" prefix encodes to (it drops them again).
    private var siglipPrefixLength = 0

    var typeName: String { "Unigram" }
    var vocabularySize: Int { unigram.vocabularySize }

    init(file: SentencePieceModelFile, source: String, siglip: SiglipTextRules?) throws {
        guard file.algorithm == .unigram else {
            throw TokenizerError.unsupported(path: source, reason: "SentencePiece \(file.algorithm) models are not supported (Unigram only); convert it to tokenizer.json with transformers")
        }
        self.file = file
        let unmatchable = Set(file.pieces.indices.filter { [.control, .unknown, .unused, .byte].contains(file.pieces[$0].type) })
        unigram = UnigramModel(pieces: file.pieces.map { ($0.text, Double($0.score)) }, unkId: file.unkId, byteFallback: file.byteFallback,
                               unmatchable: unmatchable)
        charsmap = file.precompiledCharsmap.isEmpty ? nil : try PrecompiledCharsmap(data: file.precompiledCharsmap, source: source)
        self.siglip = siglip
        if let siglip { siglipPrefixLength = encode(siglip.prefix).count }
    }

    func id(of token: String) -> Int? { unigram.id(of: token) }
    func token(of id: Int) -> String? { unigram.token(of: id) }

    func tokenize(_ piece: String) -> [(id: Int, token: String)] {
        guard let siglip else { return encode(piece) }
        // SiglipTokenizer._tokenize: canonicalise, encode "<unk>" + text, drop the pieces of "<unk>".
        let text = siglip.canonicalize(piece)
        let pieces = encode(siglip.prefix + text)
        return pieces.count >= siglipPrefixLength ? Array(pieces.dropFirst(siglipPrefixLength)) : pieces
    }

    /// sentencepiece's normalizer.
    func normalize(_ text: String) -> String {
        var s = charsmap?.normalizeLikeSentencePiece(text) ?? text
        if file.removeExtraWhitespaces {
            var out = String.UnicodeScalarView()
            var lastWasSpace = true   // drops leading spaces
            for c in s.unicodeScalars {
                if c == " " { if lastWasSpace { continue }; lastWasSpace = true } else { lastWasSpace = false }
                out.append(c)
            }
            while out.last == " " { out.removeLast() }
            s = String(out)
        }
        guard !s.isEmpty else { return s }
        if file.addDummyPrefix { s = file.treatWhitespaceAsSuffix ? s + " " : " " + s }
        if file.escapeWhitespaces { s = s.replacingScalar(" ", with: "▁") }
        return s
    }

    func encode(_ text: String) -> [(id: Int, token: String)] {
        let normalized = normalize(text)
        return normalized.isEmpty ? [] : unigram.tokenize(normalized)
    }
}
