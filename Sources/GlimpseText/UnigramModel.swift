import Foundation

/// Unigram language model (SentencePiece): the segmentation with the highest total log-probability, found by
/// Viterbi over every vocabulary piece that starts at each character; a character no piece covers costs the unk
/// score (lowest score − 10) and consecutive unknowns fuse into one unk token.
final class UnigramModel: TokenizerModel, @unchecked Sendable {
    let pieces: [(token: String, score: Double)]
    let vocab: Vocabulary
    /// The pieces the lattice may use: all but the `unmatchable` ones (SentencePiece's control, unknown, unused and
    /// byte pieces, which sentencepiece never matches against text).
    let matchable: Vocabulary
    let unkId: Int?
    let byteFallback: Bool
    let unkScore: Double
    /// The longest piece, in Unicode scalars: the Viterbi window.
    let maxPieceLength: Int
    private var cache: [[UInt8]: [(id: Int, token: String)]] = [:]
    private let lock = NSLock()

    var typeName: String { "Unigram" }
    var vocabularySize: Int { pieces.count }

    init(pieces: [(String, Double)], unkId: Int?, byteFallback: Bool, unmatchable: Set<Int> = []) {
        self.pieces = pieces.map { (token: $0.0, score: $0.1) }
        var vocab = Vocabulary(), matchable = Vocabulary()
        for (i, p) in pieces.enumerated() where vocab[p.0] == nil { vocab[p.0] = i }
        for (i, p) in pieces.enumerated() where matchable[p.0] == nil && !unmatchable.contains(i) { matchable[p.0] = i }
        self.vocab = vocab
        self.matchable = unmatchable.isEmpty ? vocab : matchable
        self.unkId = unkId
        self.byteFallback = byteFallback
        let scores = pieces.indices.filter { !unmatchable.contains($0) }.map { pieces[$0].1 }
        unkScore = (scores.min() ?? 0) - 10
        maxPieceLength = pieces.map { $0.0.unicodeScalars.count }.max() ?? 1
    }

    static func load(_ c: Component) throws -> UnigramModel {
        let list = try c.list("vocab")
        var pieces: [(String, Double)] = []
        pieces.reserveCapacity(list.count)
        for (i, entry) in list.enumerated() {
            guard let pair = entry as? [Any], pair.count == 2, let token = pair[0] as? String, let score = jsonDouble(pair[1]) else {
                throw c.error("vocab entry \(i) is not [piece, score]")
            }
            pieces.append((token, score))
        }
        let unkId = c.int("unk_id")
        if let unkId, !(0..<pieces.count).contains(unkId) { throw c.error("unk_id \(unkId) is outside the vocabulary") }
        return UnigramModel(pieces: pieces, unkId: unkId, byteFallback: c.bool("byte_fallback", default: false))
    }

    func id(of token: String) -> Int? { vocab[token] }
    func token(of id: Int) -> String? { pieces.indices.contains(id) ? pieces[id].token : nil }

    func tokenize(_ piece: String) -> [(id: Int, token: String)] {
        let key = Array(piece.utf8)
        if let hit = lock.withLock({ cache[key] }) { return hit }
        var out: [(id: Int, token: String)] = []
        for token in viterbi(piece) {
            if let id = matchable[token] { out.append((id, token)); continue }
            if byteFallback {
                let bytes = token.utf8.map { vocab[String(format: "<0x%02X>", $0)] }
                if bytes.allSatisfy({ $0 != nil }) { out += bytes.map { ($0!, pieces[$0!].token) }; continue }
            }
            if let unkId { out.append((unkId, token)) }
        }
        lock.withLock { if cache.count > 50_000 { cache.removeAll() }; cache[key] = out }
        return out
    }

    /// The best segmentation's pieces; unknown stretches are returned as their text.
    func viterbi(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let n = scalars.count
        guard n > 0 else { return [] }
        // best[i]: best score of a segmentation of scalars[0..<i], where its last piece starts, and its id (nil = unk).
        var score = [Double](repeating: 0, count: n + 1)
        var start = [Int](repeating: -1, count: n + 1)
        var pieceId = [Int?](repeating: nil, count: n + 1)
        start[0] = 0
        for i in 0..<n where start[i] >= 0 {
            let base = score[i]
            var hasSingle = false
            var candidate: [UInt8] = []
            for end in (i + 1)...min(n, i + maxPieceLength) {
                candidate += Array(String(scalars[end - 1]).utf8)
                guard let id = matchable[utf8: candidate] else { continue }
                let s = base + pieces[id].score
                if start[end] < 0 || s > score[end] { score[end] = s; start[end] = i; pieceId[end] = id }
                if end == i + 1 { hasSingle = true }
            }
            if !hasSingle {
                let s = base + unkScore
                if start[i + 1] < 0 || s > score[i + 1] { score[i + 1] = s; start[i + 1] = i; pieceId[i + 1] = nil }
            }
        }
        // Walk back from the end, fusing consecutive unknowns.
        var result: [String] = []
        var end = n
        var pendingUnk: String?
        while end > 0 {
            let s = start[end]
            let text = String(String.UnicodeScalarView(scalars[s..<end]))
            if pieceId[end] == nil || (unkId != nil && pieceId[end] == unkId) {
                pendingUnk = text + (pendingUnk ?? "")
            } else {
                if let u = pendingUnk { result.append(u); pendingUnk = nil }
                result.append(text)
            }
            end = s
        }
        if let u = pendingUnk { result.append(u) }
        return result.reversed()
    }
}
