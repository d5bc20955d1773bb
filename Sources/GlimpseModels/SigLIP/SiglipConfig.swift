import Foundation
import GlimpseTensor

/// A SigLIP text tower's sizes (`text_config` of a `siglip` config.json).
public struct SiglipTextConfig: Sendable, Equatable {
    public var tower: TransformerConfig
    public var vocabSize: Int
    /// The fixed length every text is padded to (64 for Google's checkpoints).
    public var maxPositions: Int
    public var padTokenId: Int
    /// Output size of the text head; the vision tower's hidden size.
    public var projectionSize: Int

    public init(tower: TransformerConfig, vocabSize: Int, maxPositions: Int, padTokenId: Int, projectionSize: Int) {
        self.tower = tower; self.vocabSize = vocabSize; self.maxPositions = maxPositions
        self.padTokenId = padTokenId; self.projectionSize = projectionSize
    }
}

/// A SigLIP vision tower's sizes (`vision_config`).
public struct SiglipVisionConfig: Sendable, Equatable {
    public var tower: TransformerConfig
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int
    public var patchesPerSide: Int { imageSize / patchSize }

    public init(tower: TransformerConfig, imageSize: Int, patchSize: Int, channels: Int) {
        self.tower = tower; self.imageSize = imageSize; self.patchSize = patchSize; self.channels = channels
    }
    /// Patches only: SigLIP has no class token.
    public var tokens: Int { patchesPerSide * patchesPerSide }
}

/// A Hugging Face `SiglipModel` config.json (SigLIP, and SigLIP 2's fixed-resolution checkpoints, which use the same class).
public struct SiglipConfig: Sendable, Equatable {
    public var text: SiglipTextConfig
    public var vision: SiglipVisionConfig

    public init(text: SiglipTextConfig, vision: SiglipVisionConfig) { self.text = text; self.vision = vision }

    public init(json: JSONConfig) throws {
        let modelType = try json.optionalString("model_type")
        if modelType == "siglip2" {
            throw ConfigError.unsupported(path: json.path, reason: "model_type \"siglip2\" is SigLIP 2's NaFlex variant (variable resolution), which is not supported; use a fixed-resolution SigLIP 2 checkpoint such as google/siglip2-base-patch16-224")
        }
        guard modelType == "siglip" else {
            throw ConfigError.unsupported(path: json.path, reason: "model_type \"\(modelType ?? "none")\" is not siglip")
        }
        let textJSON = try json.object("text_config"), visionJSON = try json.object("vision_config")
        func tower(_ j: JSONConfig) throws -> TransformerConfig {
            try TransformerConfig(json: j, hidden: 768, intermediate: 3072, layers: 12, heads: 12, activation: "gelu_pytorch_tanh", layerNormEps: 1e-6)
        }
        let textTower = try tower(textJSON)
        text = SiglipTextConfig(tower: textTower, vocabSize: try textJSON.int("vocab_size", default: 32000),
                                maxPositions: try textJSON.int("max_position_embeddings", default: 64),
                                padTokenId: try textJSON.int("pad_token_id", default: 1),
                                projectionSize: try textJSON.int("projection_size", default: textTower.hiddenSize))
        try textJSON.require("vocab_size", text.vocabSize, in: 1...(1 << 24))
        try textJSON.require("max_position_embeddings", text.maxPositions, in: 1...(1 << 16))
        try textJSON.require("projection_size", text.projectionSize, in: 1...(1 << 16))
        let visionTower = try tower(visionJSON)
        // image_size / patch_size may be written as [h, w]; only squares are supported.
        func square(_ key: String, _ fallback: Int) throws -> Int {
            if let pair = visionJSON.values[key] as? [Any] {
                let sides = pair.compactMap { ($0 as? NSNumber)?.intValue }
                guard sides.count == 2, sides[0] == sides[1] else {
                    throw ConfigError.invalidValue(path: json.path, key: key, reason: "\(pair) is not a square size")
                }
                return sides[0]
            }
            return try visionJSON.int(key, default: fallback)
        }
        vision = SiglipVisionConfig(tower: visionTower, imageSize: try square("image_size", 224), patchSize: try square("patch_size", 16),
                                    channels: try visionJSON.int("num_channels", default: 3))
        try visionJSON.require("image_size", vision.imageSize, in: 1...(1 << 16))
        try visionJSON.require("num_channels", vision.channels, in: 1...64)
        guard vision.patchSize > 0, vision.imageSize % vision.patchSize == 0 else {
            throw ConfigError.invalidValue(path: visionJSON.path, key: "image_size", reason: "\(vision.imageSize) is not a multiple of patch_size \(vision.patchSize)")
        }
        guard try visionJSON.bool("vision_use_head", default: true) else {
            throw ConfigError.unsupported(path: visionJSON.path, reason: "vision_use_head false: a vision tower without its pooling head has no image embedding")
        }
        guard text.projectionSize == vision.tower.hiddenSize else {
            throw ConfigError.invalidValue(path: textJSON.path, key: "projection_size",
                                           reason: "\(text.projectionSize) differs from the vision hidden_size \(vision.tower.hiddenSize): the embeddings would not share a space")
        }
    }
}
