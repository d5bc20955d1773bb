import Foundation

/// Tokenizer folders from before tokenizer.json, described as the tokenizer.json that transformers' converters
/// would write for them, so they run through the one pipeline.
enum LegacyTokenizerFiles {
    /// CLIP's pre-tokenization pattern (transformers' CLIPTokenizerFast).
    static let clipPattern = #"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"#

    /// `vocab.json` + `merges.txt`: CLIP's BPE (when the vocabulary has <|startoftext|>), else GPT-2 / RoBERTa byte-level BPE.
    static func byteLevelBPE(vocabJSON: String, mergesTXT: String, config: [String: Any]) throws -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: vocabJSON),
              let vocab = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError.unreadable(path: vocabJSON, reason: "not a JSON object of token → id")
        }
        guard let text = try? String(contentsOfFile: mergesTXT, encoding: .utf8) else {
            throw TokenizerError.unreadable(path: mergesTXT, reason: "cannot read as UTF-8 text")
        }
        var merges: [[String]] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            if n == 0, line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw TokenizerError.unreadable(path: mergesTXT, reason: "line \(n + 1) is not two tokens") }
            merges.append([String(parts[0]), String(parts[1])])
        }
        var added = addedTokens(config: config, vocab: vocab)
        func id(_ token: String) throws -> Int {
            guard let i = jsonInt(vocab[token]) ?? added.first(where: { $0["content"] as? String == token }).flatMap({ jsonInt($0["id"]) }) else {
                throw TokenizerError.unsupported(path: vocabJSON, reason: "no \(token) token in the vocabulary")
            }
            return i
        }
        if vocab["<|startoftext|>"] != nil {
            let bos = try id("<|startoftext|>"), eos = try id("<|endoftext|>")
            for (token, i) in [("<|startoftext|>", bos), ("<|endoftext|>", eos)] where !added.contains(where: { $0["content"] as? String == token }) {
                added.append(["id": i, "content": token, "special": true, "normalized": false])
            }
            return [
                "normalizer": ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Replace", "pattern": ["Regex": #"\s+"#], "content": " "],
                                                                    ["type": "Lowercase"]]],
                "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                    ["type": "Split", "pattern": ["Regex": clipPattern], "behavior": "Removed", "invert": true],
                    ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true]]],
                "model": ["type": "BPE", "vocab": vocab, "merges": merges, "end_of_word_suffix": "</w>", "unk_token": "<|endoftext|>", "continuing_subword_prefix": ""],
                "post_processor": ["type": "RobertaProcessing", "cls": ["<|startoftext|>", bos], "sep": ["<|endoftext|>", eos]],
                "decoder": ["type": "ByteLevel"],
                "added_tokens": added,
            ]
        }
        let roberta = ((config["tokenizer_class"] as? String) ?? "").lowercased().contains("roberta") || vocab["<s>"] != nil
        var json: [String: Any] = [
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": jsonBool(config["add_prefix_space"]) ?? roberta, "use_regex": true],
            "model": ["type": "BPE", "vocab": vocab, "merges": merges],
            "decoder": ["type": "ByteLevel"],
            "added_tokens": added,
        ]
        if roberta { json["post_processor"] = ["type": "RobertaProcessing", "cls": ["<s>", try id("<s>")], "sep": ["</s>", try id("</s>")]] }
        return json
    }

    /// A BERT `vocab.txt`, with do_lower_case / strip_accents / tokenize_chinese_chars from tokenizer_config.json.
    static func wordPiece(vocabTXT: String, config: [String: Any]) throws -> [String: Any] {
        let ordered = try WordPieceModel.vocabulary(vocabTXT: vocabTXT)
        let vocab = Dictionary(ordered, uniquingKeysWith: { a, _ in a })
        let lowercase = jsonBool(config["do_lower_case"]) ?? true
        var added = addedTokens(config: config, vocab: vocab)
        func name(_ key: String, _ fallback: String) -> String {
            (config[key] as? String) ?? ((config[key] as? [String: Any])?["content"] as? String) ?? fallback
        }
        let cls = name("cls_token", "[CLS]"), sep = name("sep_token", "[SEP]")
        for token in [name("pad_token", "[PAD]"), name("unk_token", "[UNK]"), cls, sep, name("mask_token", "[MASK]")]
        where vocab[token] != nil && !added.contains(where: { $0["content"] as? String == token }) {
            added.append(["id": vocab[token]!, "content": token, "special": true, "normalized": false])
        }
        guard let clsId = vocab[cls], let sepId = vocab[sep] else {
            throw TokenizerError.unsupported(path: vocabTXT, reason: "no \(cls) / \(sep) tokens in the vocabulary")
        }
        var normalizer: [String: Any] = ["type": "BertNormalizer", "clean_text": true, "lowercase": lowercase,
                                         "handle_chinese_chars": jsonBool(config["tokenize_chinese_chars"]) ?? true]
        if let strip = jsonBool(config["strip_accents"]) { normalizer["strip_accents"] = strip }
        return [
            "normalizer": normalizer,
            "pre_tokenizer": ["type": "BertPreTokenizer"],
            "model": ["type": "WordPiece", "vocab": vocab, "unk_token": name("unk_token", "[UNK]"), "continuing_subword_prefix": "##",
                      "max_input_chars_per_word": 100],
            "post_processor": ["type": "BertProcessing", "cls": [cls, clsId], "sep": [sep, sepId]],
            "decoder": ["type": "WordPiece", "prefix": "##", "cleanup": true],
            "added_tokens": added,
        ]
    }

    /// tokenizer_config.json's `added_tokens_decoder` as tokenizer.json added_tokens entries.
    static func addedTokens(config: [String: Any], vocab: [String: Any]) -> [[String: Any]] {
        guard let decoder = config["added_tokens_decoder"] as? [String: Any] else { return [] }
        return decoder.compactMap { key, value in
            guard let id = Int(key), let t = value as? [String: Any], let content = t["content"] as? String else { return nil }
            var entry = t
            entry["id"] = id
            entry["content"] = content
            return entry
        }.sorted { (jsonInt($0["id"]) ?? 0) < (jsonInt($1["id"]) ?? 0) }
    }
}
