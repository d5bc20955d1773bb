import Foundation

/// CLIP's byte-level BPE tokenizer, read from a Hugging Face `tokenizer.json` or from `vocab.json` + `merges.txt`.
///
/// encode(text) = [<|startoftext|>] + BPE(pre-tokens of normalised text) + [<|endoftext|>], truncated to
/// `maxLength` (77) by dropping content tokens, as the fast tokenizer does with `truncation=True`.
/// Added tokens (such as a literal "<|endoftext|>" in a query) are split out first and keep their ids.
public final class CLIPTokenizer: @unchecked Sendable {
    public let vocab: [String: Int]
    public let bosTokenId: Int
    public let eosTokenId: Int
    public let maxLength: Int
    private let mergeRanks: [Pair: Int]
    private let addedTokens: [(content: [Unicode.Scalar], id: Int)]
    private let addedTokenStarts: Set<Unicode.Scalar>
    private let endOfWordSuffix: String
    private let byteLevelRegex: Bool
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    struct Pair: Hashable { let left: String; let right: String }

    public init(vocab: [String: Int], merges: [(String, String)], addedTokens: [String: Int],
                bosToken: String = "<|startoftext|>", eosToken: String = "<|endoftext|>",
                endOfWordSuffix: String = "</w>", byteLevelRegex: Bool = true, maxLength: Int = 77, source: String) throws {
        guard maxLength >= 2 else {
            throw TokenizerError.unsupported(path: source, reason: "maximum length \(maxLength) leaves no room for the start and end tokens")
        }
        self.vocab = vocab
        var ranks: [Pair: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() where ranks[Pair(left: merge.0, right: merge.1)] == nil {
            ranks[Pair(left: merge.0, right: merge.1)] = rank
        }
        mergeRanks = ranks
        var added = addedTokens
        guard let bos = added[bosToken] ?? vocab[bosToken], let eos = added[eosToken] ?? vocab[eosToken] else {
            throw TokenizerError.unsupported(path: source, reason: "no \(bosToken) / \(eosToken) tokens in the vocabulary")
        }
        added[bosToken] = bos
        added[eosToken] = eos
        // Longest first, so that one added token that is a prefix of another never wins wrongly.
        self.addedTokens = added.map { (Array($0.key.unicodeScalars), $0.value) }.sorted { $0.0.count > $1.0.count }
        addedTokenStarts = Set(self.addedTokens.compactMap(\.content.first))
        bosTokenId = bos
        eosTokenId = eos
        self.endOfWordSuffix = endOfWordSuffix
        self.byteLevelRegex = byteLevelRegex
        self.maxLength = maxLength
    }

    /// Loads the tokenizer of a Hugging Face model folder.
    public convenience init(directory: String) throws {
        let fm = FileManager.default
        let tokenizerJSON = (directory as NSString).appendingPathComponent("tokenizer.json")
        let vocabJSON = (directory as NSString).appendingPathComponent("vocab.json")
        let mergesTXT = (directory as NSString).appendingPathComponent("merges.txt")
        let maxLength = Self.modelMaxLength(directory: directory)
        if fm.fileExists(atPath: tokenizerJSON) {
            try self.init(tokenizerJSON: tokenizerJSON, maxLength: maxLength)
        } else if fm.fileExists(atPath: vocabJSON), fm.fileExists(atPath: mergesTXT) {
            try self.init(vocabJSON: vocabJSON, mergesTXT: mergesTXT, maxLength: maxLength)
        } else {
            throw TokenizerError.missingFiles(directory: directory)
        }
    }

    public convenience init(tokenizerJSON path: String, maxLength: Int = 77) throws {
        let root = try Self.readJSONObject(path)
        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError.unreadable(path: path, reason: "no \"model\" object")
        }
        if let type = model["type"] as? String, type != "BPE" {
            throw TokenizerError.unsupported(path: path, reason: "model type \(type), expected BPE")
        }
        guard let vocabObject = model["vocab"] as? [String: Any] else {
            throw TokenizerError.unreadable(path: path, reason: "model.vocab is missing or not an object")
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(vocabObject.count)
        for (token, id) in vocabObject {
            guard let id = (id as? NSNumber)?.intValue else { throw TokenizerError.unreadable(path: path, reason: "vocab entry \(token) has no integer id") }
            vocab[token] = id
        }
        var merges: [(String, String)] = []
        for entry in model["merges"] as? [Any] ?? [] {
            if let line = entry as? String {
                let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError.unreadable(path: path, reason: "bad merge \"\(line)\"") }
                merges.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry as? [String], pair.count == 2 {
                merges.append((pair[0], pair[1]))
            } else {
                throw TokenizerError.unreadable(path: path, reason: "bad merge entry")
            }
        }
        var added: [String: Int] = [:]
        for token in root["added_tokens"] as? [[String: Any]] ?? [] {
            if let content = token["content"] as? String, let id = (token["id"] as? NSNumber)?.intValue { added[content] = id }
        }
        let suffix = model["end_of_word_suffix"] as? String ?? "</w>"
        var bos = "<|startoftext|>", eos = "<|endoftext|>"
        if let post = root["post_processor"] as? [String: Any] {
            if let cls = post["cls"] as? [Any], let s = cls.first as? String { bos = s }
            if let sep = post["sep"] as? [Any], let s = sep.first as? String { eos = s }
        }
        var maxLength = maxLength
        // ByteLevel's own GPT-2 split, on unless a ByteLevel pre-tokenizer says use_regex: false.
        let preTokenizers = (root["pre_tokenizer"] as? [String: Any]).map { ($0["pretokenizers"] as? [[String: Any]]) ?? [$0] } ?? []
        let byteLevel = preTokenizers.first { $0["type"] as? String == "ByteLevel" }
        let byteLevelRegex = byteLevel?["use_regex"] as? Bool ?? true
        if let truncation = root["truncation"] as? [String: Any], let n = (truncation["max_length"] as? NSNumber)?.intValue { maxLength = n }
        try self.init(vocab: vocab, merges: merges, addedTokens: added, bosToken: bos, eosToken: eos,
                      endOfWordSuffix: suffix, byteLevelRegex: byteLevelRegex, maxLength: maxLength, source: path)
    }

    public convenience init(vocabJSON: String, mergesTXT: String, maxLength: Int = 77) throws {
        let object = try Self.readJSONObject(vocabJSON)
        var vocab: [String: Int] = [:]
        for (token, id) in object {
            guard let id = (id as? NSNumber)?.intValue else { throw TokenizerError.unreadable(path: vocabJSON, reason: "entry \(token) has no integer id") }
            vocab[token] = id
        }
        guard let text = try? String(contentsOfFile: mergesTXT, encoding: .utf8) else {
            throw TokenizerError.unreadable(path: mergesTXT, reason: "cannot read as UTF-8 text")
        }
        var merges: [(String, String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw TokenizerError.unreadable(path: mergesTXT, reason: "bad merge line \"\(line)\"") }
            merges.append((String(parts[0]), String(parts[1])))
        }
        let directory = (vocabJSON as NSString).deletingLastPathComponent
        var added: [String: Int] = [:]
        for name in ["<|startoftext|>", "<|endoftext|>"] { if let id = vocab[name] { added[name] = id } }
        added.merge(Self.addedTokensFromConfig(directory: directory), uniquingKeysWith: { $1 })
        try self.init(vocab: vocab, merges: merges, addedTokens: added, maxLength: maxLength, source: vocabJSON)
    }

    // MARK: Encoding

    /// Token ids with start and end tokens, truncated to `maxLength`.
    ///
    /// The text is read front to back and work stops once `maxLength - 2` content tokens are known, so a
    /// megabyte of text costs about as much as its first sentence. The ids are those of `encodeWhole(_:)`
    /// (normalise and pre-tokenize everything, then truncate): the text between added tokens is cut into chunks
    /// just before a whitespace scalar, a boundary that neither the normaliser (NFC never composes across a
    /// whitespace starter; whitespace collapsing and per-code-point lowercasing are local) nor the pre-tokenizer
    /// (no piece contains whitespace) looks across.
    public func encode(_ text: String) -> [Int] {
        let limit = maxLength - 2
        var content: [Int] = []
        content.reserveCapacity(limit + 16)
        var chunk = String.UnicodeScalarView()
        var chunkLength = 0
        /// Tokenizes the pending chunk; true once enough tokens are known.
        func flush() -> Bool {
            if chunkLength > 0 {
                for word in CLIPPreTokenizer.split(CLIPPreTokenizer.normalize(String(chunk)), byteLevelRegex: byteLevelRegex) {
                    if content.count >= limit { break }
                    content += bpe(word)
                }
                chunk = String.UnicodeScalarView()
                chunkLength = 0
            }
            return content.count >= limit
        }
        let scalars = text.unicodeScalars
        var i = scalars.startIndex
        scan: while i < scalars.endIndex, content.count < limit {
            let s = scalars[i]
            if addedTokenStarts.contains(s) {
                for (token, id) in addedTokens where scalars[i...].starts(with: token) {
                    if flush() { break scan }
                    content.append(id)
                    i = scalars.index(i, offsetBy: token.count)
                    continue scan
                }
            }
            if chunkLength >= 256, s.properties.isWhitespace, flush() { break }
            chunk.append(s)
            chunkLength += 1
            i = scalars.index(after: i)
        }
        _ = flush()
        if content.count > limit { content.removeLast(content.count - limit) }
        return [bosTokenId] + content + [eosTokenId]
    }

    /// The definition `encode(_:)` follows, without stopping early: split out added tokens, normalise and
    /// pre-tokenize each text segment whole, BPE every piece, then truncate. Kept for tests.
    func encodeWhole(_ text: String) -> [Int] {
        var content: [Int] = []
        for segment in splitAddedTokens(text) {
            switch segment {
            case let .added(id): content.append(id)
            case let .text(piece):
                for word in CLIPPreTokenizer.split(CLIPPreTokenizer.normalize(piece), byteLevelRegex: byteLevelRegex) { content += bpe(word) }
            }
        }
        if content.count > maxLength - 2 { content.removeLast(content.count - (maxLength - 2)) }
        return [bosTokenId] + content + [eosTokenId]
    }

    enum Segment { case text(String), added(Int) }

    func splitAddedTokens(_ text: String) -> [Segment] {
        let scalars = Array(text.unicodeScalars)
        var segments: [Segment] = []
        var start = 0, i = 0
        func flush(_ end: Int) {
            if start < end {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars[start..<end])
                segments.append(.text(String(view)))
            }
        }
        outer: while i < scalars.count {
            if addedTokenStarts.contains(scalars[i]) {
                for (content, id) in addedTokens where i + content.count <= scalars.count
                    && scalars[i..<(i + content.count)].elementsEqual(content) {
                    flush(i)
                    segments.append(.added(id))
                    i += content.count
                    start = i
                    continue outer
                }
            }
            i += 1
        }
        flush(scalars.count)
        return segments
    }

    /// Byte-level BPE of one pre-token: map its UTF-8 bytes to the byte alphabet, mark the end of the word,
    /// then apply the lowest-ranked merge until none applies.
    func bpe(_ word: String) -> [Int] {
        lock.lock()
        if let hit = cache[word] { lock.unlock(); return hit }
        lock.unlock()
        var symbols = word.utf8.map { String(ByteLevelAlphabet.characters[Int($0)]) }
        guard !symbols.isEmpty else { return [] }
        symbols[symbols.count - 1] += endOfWordSuffix
        while symbols.count > 1 {
            var best = Int.max, bestIndex = -1
            for k in 0..<(symbols.count - 1) {
                if let rank = mergeRanks[Pair(left: symbols[k], right: symbols[k + 1])], rank < best {
                    best = rank; bestIndex = k
                }
            }
            if bestIndex < 0 { break }
            let pair = Pair(left: symbols[bestIndex], right: symbols[bestIndex + 1])
            // Merge every occurrence of the best pair, left to right.
            var merged: [String] = []
            merged.reserveCapacity(symbols.count)
            var k = 0
            while k < symbols.count {
                if k + 1 < symbols.count, symbols[k] == pair.left, symbols[k + 1] == pair.right {
                    merged.append(pair.left + pair.right); k += 2
                } else {
                    merged.append(symbols[k]); k += 1
                }
            }
            symbols = merged
        }
        let ids = symbols.flatMap { symbol -> [Int] in
            if let id = vocab[symbol] { return [id] }
            // A symbol outside the vocabulary cannot come from a well-formed byte-level vocabulary; fall back to
            // its characters so that nothing is silently dropped.
            return symbol.map { vocab[String($0)] ?? eosTokenId }
        }
        lock.lock()
        if cache.count > 100_000 { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        lock.unlock()
        return ids
    }

    // MARK: Files

    static func readJSONObject(_ path: String) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError.unreadable(path: path, reason: "cannot read file")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError.unreadable(path: path, reason: "not a JSON object")
        }
        return object
    }

    static func modelMaxLength(directory: String) -> Int {
        let path = (directory as NSString).appendingPathComponent("tokenizer_config.json")
        if let object = try? readJSONObject(path), let n = (object["model_max_length"] as? NSNumber)?.intValue, n > 2, n <= 4096 {
            return n
        }
        return 77
    }

    static func addedTokensFromConfig(directory: String) -> [String: Int] {
        let path = (directory as NSString).appendingPathComponent("tokenizer_config.json")
        guard let object = try? readJSONObject(path), let decoder = object["added_tokens_decoder"] as? [String: Any] else { return [:] }
        var added: [String: Int] = [:]
        for (id, token) in decoder {
            if let id = Int(id), let content = (token as? [String: Any])?["content"] as? String { added[content] = id }
        }
        return added
    }
}
