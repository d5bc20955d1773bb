import Foundation

/// Byte-pair encoding: a word starts as its characters (with `continuing_subword_prefix` on all but the first and
/// `end_of_word_suffix` on the last; unknown characters become byte tokens under `byte_fallback`, else the unk token),
/// then the lowest-ranked adjacent pair is merged until none applies.
final class BPEModel: TokenizerModel, @unchecked Sendable {
    let vocab: Vocabulary
    let tokens: [Int: String]
    /// (left id, right id) → (rank, merged id)
    let merges: [Pair: (rank: Int, id: Int)]
    let unkToken: String?
    let continuingSubwordPrefix: String?
    let endOfWordSuffix: String?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    private var cache: [[UInt8]: [(id: Int, token: String)]] = [:]
    private let lock = NSLock()

    struct Pair: Hashable { let left: Int; let right: Int }

    var typeName: String { "BPE" }
    var vocabularySize: Int { vocab.count }

    init(vocab: Vocabulary, merges: [(String, String)], unkToken: String?, continuingSubwordPrefix: String?,
         endOfWordSuffix: String?, fuseUnk: Bool, byteFallback: Bool, ignoreMerges: Bool, source: String) throws {
        self.vocab = vocab
        tokens = vocab.inverted()
        let prefixLength = continuingSubwordPrefix?.utf8.count ?? 0
        var table: [Pair: (Int, Int)] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let l = vocab[a], let r = vocab[b] else {
                throw TokenizerError.unreadable(path: source, reason: "merge \(rank) (\(a.debugDescription) \(b.debugDescription)) uses a token missing from the vocabulary")
            }
            // The merged token drops the right side's continuing-subword prefix (tokenizers does the same).
            let merged = a + (prefixLength > 0 && b.hasBytePrefix(continuingSubwordPrefix!) ? b.droppingBytes(prefixLength) : b)
            guard let id = vocab[merged] else {
                throw TokenizerError.unreadable(path: source, reason: "merge \(rank) makes \(merged.debugDescription), which is not in the vocabulary")
            }
            if table[Pair(left: l, right: r)] == nil { table[Pair(left: l, right: r)] = (rank, id) }
        }
        self.merges = table
        self.unkToken = unkToken
        self.continuingSubwordPrefix = continuingSubwordPrefix
        self.endOfWordSuffix = endOfWordSuffix
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
    }

    static func load(_ c: Component) throws -> BPEModel {
        let vocab = try Vocabulary(c)
        var merges: [(String, String)] = []
        for (i, m) in ((c.values["merges"] as? [Any]) ?? []).enumerated() {
            if let s = m as? String {
                let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw c.error("merge \(i) \(s.debugDescription) is not two tokens") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = m as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw c.error("merge \(i) is neither \"a b\" nor [a, b]")
            }
        }
        return try BPEModel(vocab: vocab, merges: merges, unkToken: c.optionalString("unk_token"),
                            continuingSubwordPrefix: c.optionalString("continuing_subword_prefix"),
                            endOfWordSuffix: c.optionalString("end_of_word_suffix"), fuseUnk: c.bool("fuse_unk", default: false),
                            byteFallback: c.bool("byte_fallback", default: false), ignoreMerges: c.bool("ignore_merges", default: false),
                            source: c.source)
    }

    func id(of token: String) -> Int? { vocab[token] }
    func token(of id: Int) -> String? { tokens[id] }

    func tokenize(_ word: String) -> [(id: Int, token: String)] {
        let key = Array(word.utf8)
        if let hit = lock.withLock({ cache[key] }) { return hit }
        let result = merge(word)
        lock.withLock { if cache.count > 50_000 { cache.removeAll() }; cache[key] = result }
        return result
    }

    private func merge(_ word: String) -> [(id: Int, token: String)] {
        if ignoreMerges, let id = vocab[word] { return [(id, word)] }
        var symbols: [Int] = []
        var unk: Int?
        let scalars = Array(word.unicodeScalars)
        for (i, scalar) in scalars.enumerated() {
            var s = String(scalar)
            if let prefix = continuingSubwordPrefix, i > 0 { s = prefix + s }
            if let suffix = endOfWordSuffix, i == scalars.count - 1 { s += suffix }
            if let id = vocab[s] {
                if let u = unk { symbols.append(u); unk = nil }
                symbols.append(id)
                continue
            }
            if byteFallback {
                let bytes = s.utf8.map { vocab[String(format: "<0x%02X>", $0)] }
                if bytes.allSatisfy({ $0 != nil }) {
                    if let u = unk { symbols.append(u); unk = nil }
                    symbols += bytes.map { $0! }
                    continue
                }
            }
            if let unkToken, let unkId = vocab[unkToken] {
                if unk != nil, !fuseUnk { symbols.append(unkId) }
                unk = unkId
            }
        }
        if let u = unk { symbols.append(u) }
        // Merge the lowest-ranked pair (leftmost on ties) until none applies.
        while symbols.count > 1 {
            var best: (rank: Int, index: Int, id: Int)?
            for i in 0..<(symbols.count - 1) {
                if let m = merges[Pair(left: symbols[i], right: symbols[i + 1])], best == nil || m.rank < best!.rank {
                    best = (m.rank, i, m.id)
                }
            }
            guard let b = best else { break }
            symbols[b.index] = b.id
            symbols.remove(at: b.index + 1)
        }
        return symbols.map { ($0, tokens[$0] ?? "") }
    }
}
