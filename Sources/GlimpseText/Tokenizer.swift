import Foundation

/// The Hugging Face `tokenizers` pipeline as a `tokenizer.json` describes it:
/// added tokens split out → normalizer → pre-tokenizer → model (BPE, WordPiece, Unigram) → truncation →
/// post-processor (special tokens); and the decoder for ids → text. Folders without a tokenizer.json
/// (`vocab.json` + `merges.txt`, or BERT's `vocab.txt`) are read into the same pipeline.
public final class Tokenizer: @unchecked Sendable {
    public let source: String
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: any TokenizerModel
    let postProcessor: PostProcessor?
    let decoder: TokenDecoder?
    let addedTokens: [AddedToken]
    private let rawAdded: AddedVocabulary
    private let normalizedAdded: AddedVocabulary
    private let addedById: [Int: AddedToken]
    private let addedByContent: [String: AddedToken]
    /// tokenizer_config.json's model_max_length, or the file's truncation max_length.
    public private(set) var modelMaxLength: Int?
    public private(set) var padTokenId: Int?
    /// Which end padding goes to: tokenizer_config.json's `padding_side`, else the default of the class it names
    /// (transformers' Gemma, Llama, SigLIP 2 and XLNet tokenizers pad on the left), else the right.
    public private(set) var paddingSide: PaddingSide = .right
    public enum PaddingSide: String, Sendable { case left, right }
    /// transformers 5's tokenizer classes whose `padding_side` defaults to "left".
    static let leftPaddingClasses: Set<String> = ["CodeLlamaTokenizer", "CohereTokenizer", "ErgoTokenizer", "GemmaTokenizer", "LlamaTokenizer",
                                                  "Siglip2Tokenizer", "XLNetTokenizer"]
    /// Ids the post-processor adds to one sequence (counted once, not per encode).
    private let specialTokenCount: Int
    /// The file's own `truncation.max_length`, applied when encode is given no maximum.
    let fileTruncation: Int?
    /// SiglipTokenizer's handling around a SentencePiece model (SigLIP v1 folders), nil otherwise.
    let siglip: SiglipTextRules?

    public var modelType: String { model.typeName }
    public var vocabularySize: Int { max(model.vocabularySize, (addedById.keys.max() ?? -1) + 1) }

    public convenience init(tokenizerJSON path: String) throws {
        try self.init(json: try Self.readTokenizerJSON(path), source: path)
    }

    public convenience init(data: Data, source: String) throws {
        try self.init(json: try Self.jsonObject(data, source: source), source: source)
    }

    static func readTokenizerJSON(_ path: String) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TokenizerError.unreadable(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try jsonObject(data, source: path)
    }

    static func jsonObject(_ data: Data, source: String) throws -> [String: Any] {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError.unreadable(path: source, reason: "not a JSON object")
        }
        return root
    }

    /// `model`, when given, replaces the file's "model" (a SentencePiece model read from its own file).
    init(json root: [String: Any], source: String, model givenModel: (any TokenizerModel)? = nil, siglip: SiglipTextRules? = nil) throws {
        self.source = source
        self.siglip = siglip
        func component(_ key: String) throws -> Component? {
            guard let value = root[key], !isJSONNull(value) else { return nil }
            return try Component(value, source: source, kind: key)
        }
        normalizer = try component("normalizer").map(Normalizer.init)
        preTokenizer = try component("pre_tokenizer").map(PreTokenizer.init)
        postProcessor = try component("post_processor").map(PostProcessor.init)
        specialTokenCount = postProcessor?.addedTokens ?? 0
        decoder = try component("decoder").map(TokenDecoder.init)
        if let givenModel {
            model = givenModel
        } else {
            guard let m = try component("model") else { throw TokenizerError.unreadable(path: source, reason: "no \"model\" object") }
            var type = m.type
            if type.isEmpty { type = m.values["merges"] != nil ? "BPE" : (m.values["vocab"] is [Any] ? "Unigram" : "WordPiece") }
            switch type {
            case "BPE": model = try BPEModel.load(m)
            case "WordPiece": model = try WordPieceModel.load(m)
            case "Unigram": model = try UnigramModel.load(m)
            default: throw m.unsupported()
            }
        }
        var added: [AddedToken] = []
        for (i, raw) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
            guard let t = raw as? [String: Any], let id = jsonInt(t["id"]), let content = t["content"] as? String else {
                throw TokenizerError.unreadable(path: source, reason: "added_tokens[\(i)] lacks an id or content")
            }
            let special = jsonBool(t["special"]) ?? false
            added.append(AddedToken(id: id, content: content, special: special, singleWord: jsonBool(t["single_word"]) ?? false,
                                    lstrip: jsonBool(t["lstrip"]) ?? false, rstrip: jsonBool(t["rstrip"]) ?? false,
                                    normalized: jsonBool(t["normalized"]) ?? !special))
        }
        // A normalized added token is known by its normalized spelling (tokenizers reports and decodes it so).
        let normalizer = self.normalizer
        if let normalizer {
            added = added.map { t in
                guard t.normalized else { return t }
                return AddedToken(id: t.id, content: normalizer.apply(t.content), special: t.special, singleWord: t.singleWord,
                                  lstrip: t.lstrip, rstrip: t.rstrip, normalized: true)
            }
        }
        addedTokens = added
        rawAdded = AddedVocabulary(added.filter { !$0.normalized || normalizer == nil }) { $0.content }
        normalizedAdded = AddedVocabulary(added.filter { $0.normalized && normalizer != nil }) { $0.content }
        addedById = Dictionary(added.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        addedByContent = Dictionary(added.map { ($0.content, $0) }, uniquingKeysWith: { a, _ in a })
        if let truncation = root["truncation"] as? [String: Any], let max = jsonInt(truncation["max_length"]), max > 0 {
            modelMaxLength = max; fileTruncation = max
        } else { fileTruncation = nil }
        if let padding = root["padding"] as? [String: Any], let id = jsonInt(padding["pad_id"]) { padTokenId = id }
    }

    /// Loads the tokenizer of a model folder: `tokenizer.json`; else `vocab.json` + `merges.txt` (CLIP, GPT-2/RoBERTa);
    /// else `vocab.txt` (BERT WordPiece); else a SentencePiece `spiece.model` (SigLIP, T5). `tokenizer_config.json` gives
    /// model_max_length, the pad token and added tokens. `lowercaseInput` puts Lowercase in front of a tokenizer.json's
    /// normalizer (SigLIP 2 ships Gemma's tokenizer but was trained on lower-cased text).
    public convenience init(directory: String, lowercaseInput: Bool = false) throws {
        func path(_ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
        let fm = FileManager.default
        let config = Self.readConfig(path("tokenizer_config.json"))
        // transformers loads SiglipTokenizer from spiece.model even beside a tokenizer.json (which cannot express its
        // canonicalisation).
        let siglipSentencePiece = ((config["tokenizer_class"] as? String) ?? "").hasPrefix("SiglipTokenizer") && fm.fileExists(atPath: path("spiece.model"))
        if fm.fileExists(atPath: path("tokenizer.json")), !siglipSentencePiece {
            var root = try Self.readTokenizerJSON(path("tokenizer.json"))
            if lowercaseInput {
                let lowercase: [String: Any] = ["type": "Lowercase"]
                if let existing = root["normalizer"], !isJSONNull(existing) {
                    root["normalizer"] = ["type": "Sequence", "normalizers": [lowercase, existing]]
                } else {
                    root["normalizer"] = lowercase
                }
            }
            try self.init(json: root, source: path("tokenizer.json"))
        } else if fm.fileExists(atPath: path("spiece.model")) {
            try self.init(sentencePiece: path("spiece.model"), config: config)
        } else if fm.fileExists(atPath: path("vocab.json")), fm.fileExists(atPath: path("merges.txt")) {
            try self.init(json: try LegacyTokenizerFiles.byteLevelBPE(vocabJSON: path("vocab.json"), mergesTXT: path("merges.txt"), config: config),
                          source: path("vocab.json"))
        } else if fm.fileExists(atPath: path("vocab.txt")) {
            try self.init(json: try LegacyTokenizerFiles.wordPiece(vocabTXT: path("vocab.txt"), config: config), source: path("vocab.txt"))
        } else {
            throw TokenizerError.missingFiles(directory: directory)
        }
        if let max = jsonInt(config["model_max_length"]), max > 0, max < 1_000_000 { modelMaxLength = max }
        if let side = (config["padding_side"] as? String).flatMap(PaddingSide.init(rawValue:)) {
            paddingSide = side
        } else if let name = config["tokenizer_class"] as? String,
                  Self.leftPaddingClasses.contains(name.hasSuffix("Fast") ? String(name.dropLast(4)) : name) {
            paddingSide = .left
        }
        if padTokenId == nil {
            let name = (config["pad_token"] as? String) ?? ((config["pad_token"] as? [String: Any])?["content"] as? String)
            padTokenId = (name.flatMap(id(of:))) ?? ["<pad>", "[PAD]", "<|padding|>"].lazy.compactMap(id(of:)).first
        }
    }

    /// A folder with only a SentencePiece model (SigLIP v1, T5): sentencepiece's own encoding, `</s>` appended, and
    /// for SiglipTokenizer its canonicalisation (`SiglipTextRules`).
    convenience init(sentencePiece path: String, config: [String: Any]) throws {
        let file = try SentencePieceModelFile(contentsOf: path)
        func name(_ key: String, _ fallback: String) -> String {
            (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String) ?? fallback
        }
        let pieceIds = Dictionary(file.pieces.enumerated().map { ($1.text, $0) }, uniquingKeysWith: { a, _ in a })
        let eos = name("eos_token", "</s>")
        guard let eosId = pieceIds[eos] ?? (file.pieces.indices.contains(file.eosId) ? file.eosId : nil) else {
            throw TokenizerError.unsupported(path: path, reason: "no end-of-text piece \(eos.debugDescription)")
        }
        let isSiglip = ((config["tokenizer_class"] as? String) ?? "").hasPrefix("Siglip")
        let rules = isSiglip ? SiglipTextRules(lowercase: jsonBool(config["do_lower_case"]) ?? true, prefix: name("unk_token", "<unk>"), eosId: eosId) : nil
        let model = try SentencePieceModel(file: file, source: path, siglip: rules)
        var added = LegacyTokenizerFiles.addedTokens(config: config, vocab: [:])
        // SiglipTokenizer / T5Tokenizer make eos, unk and pad special tokens that swallow the spaces around them.
        for token in [eos, name("unk_token", "<unk>"), name("pad_token", "</s>")] where !added.contains(where: { $0["content"] as? String == token }) {
            if let id = pieceIds[token] { added.append(["id": id, "content": token, "special": true, "normalized": false, "lstrip": true, "rstrip": true]) }
        }
        let json: [String: Any] = [
            "post_processor": ["type": "TemplateProcessing", "single": [["Sequence": ["id": "A", "type_id": 0]], ["SpecialToken": ["id": eos, "type_id": 0]]],
                               "special_tokens": [eos: ["id": eos, "ids": [eosId], "tokens": [eos]]]],
            "decoder": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true],
            "added_tokens": added,
        ]
        try self.init(json: json, source: path, model: model, siglip: rules)
    }

    static func readConfig(_ path: String) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: path),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { return [:] }
        return object
    }

    // MARK: Encoding

    /// Token ids of a text, special tokens included, at most `maxLength` of them (default: the file's truncation, if any) (content tokens are dropped from the
    /// end, as transformers does with truncation=True). Work stops once the kept tokens are known.
    public func encode(_ text: String, addSpecialTokens: Bool = true, maxLength: Int? = nil) -> [Int] {
        encoding(text, addSpecialTokens: addSpecialTokens, maxLength: maxLength).ids
    }

    public func encoding(_ text: String, addSpecialTokens: Bool = true, maxLength: Int? = nil) -> Encoding {
        var text = text
        if siglip != nil { text = "▁" + text.replacingScalar("▁", with: " ") }
        var post = addSpecialTokens ? postProcessor : nil
        let limit = (maxLength ?? fileTruncation).map { max(0, $0 - (post == nil ? 0 : specialTokenCount)) }
        // SigLIP may drop a leading token after the loop: gather one more.
        let gather = siglip == nil ? limit : limit.map { $0 + 1 }
        var content = Encoding(ids: [], tokens: [], typeIds: [], specialTokensMask: [])
        func add(_ id: Int, _ token: String, special: Bool) {
            content.ids.append(id); content.tokens.append(token); content.typeIds.append(0); content.specialTokensMask.append(special ? 1 : 0)
        }
        outer: for segment in rawAdded.split(text) {
            if let gather, content.ids.count >= gather { break }
            if let token = segment.token { add(token.id, segment.text, special: token.special); continue }
            let normalized = normalizer?.apply(segment.text) ?? segment.text
            for part in normalizedAdded.split(normalized) {
                if let gather, content.ids.count >= gather { break outer }
                if let token = part.token { add(token.id, part.text, special: token.special); continue }
                var pieces = [Piece(text: part.text, start: segment.offset + part.offset)]
                if let preTokenizer { pieces = preTokenizer.apply(pieces) }
                for piece in pieces where !piece.text.isEmpty {
                    for (id, token) in tokenize(piece.text, keeping: gather.map { $0 - content.ids.count }) { add(id, token, special: false) }
                    if let gather, content.ids.count >= gather { break outer }
                }
            }
        }
        // SiglipTokenizer drops a lone leading "▁" before a special token.
        if siglip != nil, content.ids.count > 1, content.tokens[0] == "▁", addedByContent[content.tokens[1]]?.special == true {
            content.ids.removeFirst(); content.tokens.removeFirst(); content.typeIds.removeFirst(); content.specialTokensMask.removeFirst()
        }
        if let limit, content.ids.count > limit {
            content.ids.removeLast(content.ids.count - limit); content.tokens.removeLast(content.tokens.count - limit)
            content.typeIds.removeLast(content.typeIds.count - limit); content.specialTokensMask.removeLast(content.specialTokensMask.count - limit)
        }
        // SiglipTokenizer adds </s> only when the ids do not already end with it.
        if let siglip, content.ids.last == siglip.eosId { post = nil }
        return post?.process(content) ?? content
    }

    /// The model's tokens of one piece. When only the first `keeping` tokens matter and the piece is long (a model with
    /// no pre-tokenizer sees a whole text as one piece), windows of the piece's beginning are tokenized, doubling until
    /// two consecutive windows agree on those tokens: the work follows what is kept, not the length of the text.
    func tokenize(_ piece: String, keeping: Int?) -> [(id: Int, token: String)] {
        guard let keeping, keeping > 0 else { return model.tokenize(piece) }
        let scalars = Array(piece.unicodeScalars)
        var window = max(256, keeping * 16)
        guard scalars.count > 2 * window else { return model.tokenize(piece) }
        var previous = Array(model.tokenize(String(String.UnicodeScalarView(scalars[..<window]))).prefix(keeping))
        while 2 * window < scalars.count {
            window *= 2
            let current = Array(model.tokenize(String(String.UnicodeScalarView(scalars[..<window]))).prefix(keeping))
            if current.count == keeping, current.map(\.id) == previous.map(\.id) { return current }
            previous = current
        }
        return model.tokenize(piece)
    }

    // MARK: Decoding

    /// Text of token ids, as `tokenizers.Tokenizer.decode` gives it.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        let tokens: [String] = ids.compactMap { id in
            if let added = addedById[id] { return skipSpecialTokens && added.special ? nil : added.content }
            return model.token(of: id)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    public func id(of token: String) -> Int? { addedByContent[token]?.id ?? model.id(of: token) }
    public func token(of id: Int) -> String? { addedById[id]?.content ?? model.token(of: id) }

    /// One line naming the pipeline's parts.
    public var summary: String {
        var parts = ["\(modelType) (\(vocabularySize) tokens)"]
        if let normalizer { parts.append("normalizer \(normalizer.name)") }
        if let preTokenizer { parts.append("pre-tokenizer \(preTokenizer.name)") }
        if let postProcessor { parts.append("post-processor \(postProcessor.name)") }
        if let decoder { parts.append("decoder \(decoder.name)") }
        return parts.joined(separator: ", ")
    }
}
