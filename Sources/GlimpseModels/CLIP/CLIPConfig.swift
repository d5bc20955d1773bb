import GlimpseTensor

public struct CLIPTextConfig: Sendable, Equatable {
    public var tower: TransformerConfig
    public var vocabSize: Int
    public var maxPositions: Int
    public var eosTokenId: Int

    public init(tower: TransformerConfig, vocabSize: Int, maxPositions: Int, eosTokenId: Int) {
        self.tower = tower; self.vocabSize = vocabSize; self.maxPositions = maxPositions; self.eosTokenId = eosTokenId
    }
}

public struct CLIPVisionConfig: Sendable, Equatable {
    public var tower: TransformerConfig
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int

    public init(tower: TransformerConfig, imageSize: Int, patchSize: Int, channels: Int) {
        self.tower = tower; self.imageSize = imageSize; self.patchSize = patchSize; self.channels = channels
    }
    public var patchesPerSide: Int { imageSize / patchSize }
    /// Patches plus the class token.
    public var tokens: Int { patchesPerSide * patchesPerSide + 1 }
}

extension CLIPVisionConfig {
    /// Reads a `vision_config` object (CLIP's, or Chinese-CLIP's, which is the same ViT).
    public init(json visionJSON: JSONConfig) throws {
        self.init(
            tower: try CLIPConfig.tower(visionJSON, hidden: 768, intermediate: 3072, layers: 12, heads: 12),
            imageSize: try visionJSON.int("image_size", default: 224),
            patchSize: try visionJSON.int("patch_size", default: 32),
            channels: try visionJSON.int("num_channels", default: 3))
        try CLIPConfig.check(visionJSON, "image_size", imageSize, 1...(1 << 16))
        try CLIPConfig.check(visionJSON, "num_channels", channels, 1...64)
        guard patchSize > 0, imageSize % patchSize == 0 else {
            throw ConfigError.invalidValue(path: visionJSON.path, key: "image_size",
                                           reason: "\(imageSize) is not a multiple of patch_size \(patchSize)")
        }
    }
}

public struct CLIPConfig: Sendable, Equatable {
    public var text: CLIPTextConfig
    public var vision: CLIPVisionConfig
    public var projectionDim: Int

    public init(text: CLIPTextConfig, vision: CLIPVisionConfig, projectionDim: Int) {
        self.text = text; self.vision = vision; self.projectionDim = projectionDim
    }

    /// Reads a Hugging Face CLIP `config.json`; another architecture is an error that names the file.
    public init(contentsOf path: String) throws {
        try self.init(json: JSONConfig(contentsOf: path))
    }

    public init(json: JSONConfig) throws {
        let modelType = try json.optionalString("model_type")
        let architectures = json.values["architectures"] as? [String] ?? []
        if let modelType, modelType != "clip" {
            throw ConfigError.unsupported(path: json.path, reason: "model_type \"\(modelType)\" is not supported; expected \"clip\" (a Hugging Face CLIPModel)")
        }
        if modelType == nil, !architectures.isEmpty, !architectures.contains("CLIPModel") {
            throw ConfigError.unsupported(path: json.path, reason: "architectures \(architectures) are not supported; expected CLIPModel")
        }
        guard json.has("text_config") || json.has("vision_config") || modelType == "clip" else {
            throw ConfigError.unsupported(path: json.path, reason: "no model_type, text_config or vision_config: not a CLIP config")
        }
        let textJSON = try json.object("text_config")
        let visionJSON = try json.object("vision_config")
        let text = CLIPTextConfig(
            tower: try Self.tower(textJSON, hidden: 512, intermediate: 2048, layers: 12, heads: 8),
            vocabSize: try textJSON.int("vocab_size", default: 49408),
            maxPositions: try textJSON.int("max_position_embeddings", default: 77),
            eosTokenId: try textJSON.int("eos_token_id", default: 49407))
        let vision = try CLIPVisionConfig(json: visionJSON)
        try Self.check(textJSON, "vocab_size", text.vocabSize, 1...(1 << 24))
        try Self.check(textJSON, "max_position_embeddings", text.maxPositions, 1...(1 << 20))
        try Self.check(textJSON, "eos_token_id", text.eosTokenId, 0...Int(Int32.max))
        let projectionDim = try json.int("projection_dim", default: 512)
        try Self.check(json, "projection_dim", projectionDim, 1...(1 << 16))
        self.init(text: text, vision: vision, projectionDim: projectionDim)
    }

    static func check(_ json: JSONConfig, _ key: String, _ value: Int, _ range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ConfigError.invalidValue(path: json.path, key: key, reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
    }

    static func tower(_ json: JSONConfig, hidden: Int, intermediate: Int, layers: Int, heads: Int) throws -> TransformerConfig {
        try TransformerConfig(json: json, hidden: hidden, intermediate: intermediate, layers: layers, heads: heads,
                              activation: "quick_gelu", layerNormEps: 1e-5)
    }
}
