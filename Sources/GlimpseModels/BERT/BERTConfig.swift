import GlimpseTensor

/// A BERT-family text transformer as config.json describes it: BERT, RoBERTa, XLM-RoBERTa, DistilBERT, and the text
/// tower of Chinese-CLIP. Missing keys take transformers' defaults for the family.
public struct BERTConfig: Sendable, Equatable {
    public enum Family: String, Sendable {
        case bert, roberta, distilBERT = "distilbert"
    }

    public var family: Family
    public var modelType: String
    public var encoder: TransformerConfig
    public var vocabSize: Int
    public var maxPositions: Int
    /// 0 when the model has no token-type embeddings (DistilBERT).
    public var typeVocabSize: Int
    public var padTokenId: Int

    /// RoBERTa counts positions from `padding_idx + 1` (transformers' `create_position_ids_from_input_ids`).
    public var positionOffset: Int { family == .roberta ? padTokenId + 1 : 0 }
    /// The longest input the position table allows.
    public var maxTokens: Int { maxPositions - positionOffset }

    /// The model types this config reads (model_type in config.json).
    public static let modelTypes: [String: Family] = [
        "bert": .bert, "chinese_clip_text_model": .bert, "roberta": .roberta, "xlm-roberta": .roberta,
        "camembert": .roberta, "distilbert": .distilBERT,
    ]

    public init(family: Family, modelType: String, encoder: TransformerConfig, vocabSize: Int, maxPositions: Int,
                typeVocabSize: Int, padTokenId: Int) {
        self.family = family; self.modelType = modelType; self.encoder = encoder; self.vocabSize = vocabSize
        self.maxPositions = maxPositions; self.typeVocabSize = typeVocabSize; self.padTokenId = padTokenId
    }

    public init(contentsOf path: String) throws { try self.init(json: JSONConfig(contentsOf: path)) }

    /// `defaultType` names the family of a nested config without model_type (Chinese-CLIP's text_config).
    public init(json: JSONConfig, defaultType: String? = nil) throws {
        guard let modelType = try json.optionalString("model_type") ?? defaultType else {
            throw ConfigError.unsupported(path: json.path, reason: "no model_type: expected one of \(Self.modelTypes.keys.sorted())")
        }
        guard let family = Self.modelTypes[modelType] else {
            throw ConfigError.unsupported(path: json.path, reason: "model_type \"\(modelType)\" is not a BERT-family text model (\(Self.modelTypes.keys.sorted().joined(separator: ", ")))")
        }
        let activation: Activation
        let encoder: TransformerConfig
        switch family {
        case .distilBERT:
            let act = try json.string("activation", default: "gelu")
            guard let a = Activation(configName: act) else {
                throw ConfigError.invalidValue(path: json.path, key: "activation", reason: "\"\(act)\" is not supported (gelu, relu, gelu_new)")
            }
            activation = a
            // DistilBERT's layer norms are nn.LayerNorm(eps=1e-12), not configurable.
            encoder = TransformerConfig(hiddenSize: try json.int("dim", default: 768), intermediateSize: try json.int("hidden_dim", default: 3072),
                                        layers: try json.int("n_layers", default: 6), heads: try json.int("n_heads", default: 12),
                                        layerNormEps: 1e-12, activation: activation)
            // With sinusoidal_pos_embds the table is still stored in the checkpoint, so it reads as learned positions.
        case .bert, .roberta:
            let act = try json.string("hidden_act", default: "gelu")
            guard let a = Activation(configName: act) else {
                throw ConfigError.invalidValue(path: json.path, key: "hidden_act", reason: "\"\(act)\" is not supported (gelu, relu, gelu_new, gelu_pytorch_tanh, quick_gelu)")
            }
            activation = a
            let positionType = try json.string("position_embedding_type", default: "absolute")
            guard positionType == "absolute" else {
                throw ConfigError.unsupported(path: json.path, reason: "position_embedding_type \"\(positionType)\" is not supported (absolute)")
            }
            encoder = TransformerConfig(hiddenSize: try json.int("hidden_size", default: 768),
                                        intermediateSize: try json.int("intermediate_size", default: 3072),
                                        layers: try json.int("num_hidden_layers", default: 12),
                                        heads: try json.int("num_attention_heads", default: 12),
                                        layerNormEps: Float(try json.double("layer_norm_eps", default: 1e-12)), activation: activation)
        }
        let key = family == .distilBERT ? ("dim", "n_heads") : ("hidden_size", "num_attention_heads")
        try json.require(key.0, encoder.hiddenSize, in: 1...(1 << 16))
        try json.require(family == .distilBERT ? "hidden_dim" : "intermediate_size", encoder.intermediateSize, in: 1...(1 << 18))
        try json.require(family == .distilBERT ? "n_layers" : "num_hidden_layers", encoder.layers, in: 0...1024)
        guard encoder.heads > 0, encoder.hiddenSize % encoder.heads == 0 else {
            throw ConfigError.invalidValue(path: json.path, key: key.1, reason: "\(encoder.heads) does not divide the hidden size \(encoder.hiddenSize)")
        }
        let padTokenId = try json.int("pad_token_id", default: family == .roberta ? 1 : 0)
        self.init(family: family, modelType: modelType, encoder: encoder,
                  vocabSize: try json.int("vocab_size", default: 30522),
                  maxPositions: try json.int("max_position_embeddings", default: 512),
                  typeVocabSize: family == .distilBERT ? 0 : try json.int("type_vocab_size", default: 2),
                  padTokenId: padTokenId)
        try json.require("vocab_size", vocabSize, in: 1...(1 << 24))
        try json.require("max_position_embeddings", maxPositions, in: 1...(1 << 20))
        try json.require("type_vocab_size", typeVocabSize, in: 0...1024)
        try json.require("pad_token_id", padTokenId, in: 0...(1 << 24))
        guard maxTokens >= 1 else {
            throw ConfigError.invalidValue(path: json.path, key: "max_position_embeddings", reason: "\(maxPositions) leaves no position after the padding offset \(positionOffset)")
        }
    }
}

extension JSONConfig {
    /// Sizes from an untrusted file feed shape products and allocations: keep them in sane ranges, so a crafted
    /// config is an error naming the key rather than an overflow or a huge allocation.
    public func require(_ key: String, _ value: Int, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ConfigError.invalidValue(path: path, key: key, reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
    }
}
