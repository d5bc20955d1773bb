import Foundation
import GlimpseTensor

/// How `generate()` turns a decoder into token ids: the keys of a Hugging Face `generation_config.json` that
/// deterministic decoding uses, with transformers' defaults. Sampling keys are ignored: captions for search must
/// be reproducible, so `do_sample` is read but never acted on.
public struct GenerationConfig: Sendable, Equatable {
    /// When a beam search may stop before `maxLength` (transformers' `early_stopping`).
    public enum EarlyStopping: Sendable, Equatable {
        /// Stop as soon as `numBeams` finished hypotheses exist.
        case always
        /// Stop when the best running beam, scored at the current length, cannot beat the worst finished one.
        case heuristic
        /// As `heuristic`, but scoring the running beam at `maxLength` when `lengthPenalty` > 0 (never stops early
        /// while a longer hypothesis could still win).
        case never
    }

    /// Total length of the decoder sequence, the start token included.
    public var maxLength: Int = 20
    /// When set, overrides `maxLength` as `1 + maxNewTokens` (the start token is the prompt).
    public var maxNewTokens: Int?
    public var minLength: Int = 0
    public var minNewTokens: Int?
    public var numBeams: Int = 1
    public var lengthPenalty: Double = 1.0
    public var earlyStopping: EarlyStopping = .heuristic
    public var noRepeatNgramSize: Int = 0
    public var repetitionPenalty: Double = 1.0
    public var eosTokenIds: [Int] = []
    public var padTokenId: Int?
    public var decoderStartTokenId: Int?
    public var bosTokenId: Int?

    public init() {}

    /// The decoder length at which generation stops (start token included).
    public var effectiveMaxLength: Int { maxNewTokens.map { 1 + $0 } ?? maxLength }
    /// The length below which end-of-sequence is forbidden.
    public var effectiveMinLength: Int { minNewTokens.map { 1 + $0 } ?? minLength }
    /// The token every caption starts from.
    public var startTokenId: Int? { decoderStartTokenId ?? bosTokenId }

    /// Reads a model folder's generation settings: `generation_config.json` when present, over the legacy keys of
    /// `config.json` (top level, then its `decoder` object), as transformers does for older checkpoints.
    public init(directory: String) throws {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let generationPath = (directory as NSString).appendingPathComponent("generation_config.json")
        if FileManager.default.fileExists(atPath: configPath) {
            let json = try JSONConfig(contentsOf: configPath)
            if json.has("decoder") { try apply(json.object("decoder")) }
            try apply(json)
        }
        if FileManager.default.fileExists(atPath: generationPath) {
            try apply(JSONConfig(contentsOf: generationPath))
        }
    }

    /// Overrides the settings `json` names.
    public mutating func apply(_ json: JSONConfig) throws {
        func int(_ key: String) throws -> Int? { json.has(key) ? try json.int(key, default: 0) : nil }
        if let v = try int("max_length") { maxLength = v }
        if json.has("max_new_tokens") { maxNewTokens = try int("max_new_tokens") }
        if let v = try int("min_length") { minLength = v }
        if json.has("min_new_tokens") { minNewTokens = try int("min_new_tokens") }
        if let v = try int("num_beams") { numBeams = v }
        if let v = try int("no_repeat_ngram_size") { noRepeatNgramSize = v }
        if json.has("length_penalty") { lengthPenalty = try json.double("length_penalty", default: 1) }
        if json.has("repetition_penalty") { repetitionPenalty = try json.double("repetition_penalty", default: 1) }
        if json.has("early_stopping") {
            switch json.values["early_stopping"] {
            case let flag as Bool: earlyStopping = flag ? .always : .heuristic
            case let word as String where word == "never": earlyStopping = .never
            default:
                throw ConfigError.invalidValue(path: json.path, key: "early_stopping", reason: "expected true, false or \"never\"")
            }
        }
        if json.has("eos_token_id") {
            switch json.values["eos_token_id"] {
            case let list as [Any]: eosTokenIds = list.compactMap { ($0 as? NSNumber)?.intValue }
            case let n as NSNumber: eosTokenIds = [n.intValue]
            default: throw ConfigError.invalidValue(path: json.path, key: "eos_token_id", reason: "expected an id or a list of ids")
            }
        }
        if json.has("pad_token_id") { padTokenId = try int("pad_token_id") }
        if json.has("decoder_start_token_id") { decoderStartTokenId = try int("decoder_start_token_id") }
        if json.has("bos_token_id") { bosTokenId = try int("bos_token_id") }
        try validate(path: json.path)
    }

    /// Rejects settings no generation can run with.
    public func validate(path: String) throws {
        guard (1...64).contains(numBeams) else {
            throw ConfigError.invalidValue(path: path, key: "num_beams", reason: "\(numBeams) is outside 1...64")
        }
        guard (1...4096).contains(effectiveMaxLength) else {
            throw ConfigError.invalidValue(path: path, key: maxNewTokens == nil ? "max_length" : "max_new_tokens",
                                           reason: "a caption needs 1...4096 tokens, got \(effectiveMaxLength)")
        }
        guard noRepeatNgramSize >= 0, repetitionPenalty > 0, lengthPenalty.isFinite else {
            throw ConfigError.invalidValue(path: path, key: "no_repeat_ngram_size", reason: "negative n-gram size or non-positive repetition penalty")
        }
    }
}
