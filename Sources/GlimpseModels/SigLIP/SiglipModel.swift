import Foundation
import GlimpseTensor
import GlimpseText

/// SigLIP and SigLIP 2 (fixed resolution): a ViT with an attention-pooling head and a bidirectional text tower that
/// pools the last of a fixed number of positions, trained with a sigmoid loss; `logit_scale` and `logit_bias` turn a
/// cosine into the model's own match probability, sigmoid(cos · exp(scale) + bias) (`ModelInfo.probability`).
public final class SiglipModel: TextEncoder, ImageEncoder, @unchecked Sendable {
    public let directory: String
    public let config: SiglipConfig
    public let text: SiglipTextTower
    public let vision: SiglipVisionTower
    public let tokenizer: Tokenizer?
    public let logitScale: Float
    public let logitBias: Float
    /// Every text is padded (or truncated) to this many ids, as the model was trained (`padding="max_length"`).
    public let maxTokens: Int
    let padTokenId: Int

    public init(directory: String, precision: Precision = .fp32) throws {
        try ModelError.requireFolder(directory)
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        config = try SiglipConfig(json: JSONConfig(contentsOf: configPath))
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        text = try SiglipTextTower(checkpoint: checkpoint, config: config.text)
        vision = try SiglipVisionTower(checkpoint: checkpoint, config: config.vision)
        logitScale = try checkpoint.tensor("logit_scale", shape: [1]).values[0]
        logitBias = try checkpoint.optionalTensor("logit_bias", shape: [1])?.values[0] ?? 0
        // Both SigLIP generations were trained on lower-cased text (v1's sentencepiece tokenizer lower-cases as part of
        // its canonicalisation); SigLIP 2 folders ship Gemma's tokenizer.json, which does not, so Lowercase goes in
        // front of its normalizer, as transformers' Siglip2Tokenizer does.
        let tokenizer = try Tokenizer(directory: directory, lowercaseInput: true)
        self.tokenizer = tokenizer
        maxTokens = min(tokenizer.modelMaxLength ?? config.text.maxPositions, config.text.maxPositions)
        padTokenId = tokenizer.padTokenId ?? config.text.padTokenId
        setPrecision(precision)
    }

    /// A model with random weights and no tokenizer, for benchmarks.
    public init(random config: SiglipConfig, seed: UInt64 = 42, precision: Precision = .fp32) {
        var generator = SeededGenerator(seed: seed)
        directory = "<random>"
        self.config = config
        text = SiglipTextTower(random: config.text, generator: &generator)
        vision = SiglipVisionTower(random: config.vision, generator: &generator)
        tokenizer = nil
        logitScale = log(10); logitBias = -10
        maxTokens = config.text.maxPositions
        padTokenId = config.text.padTokenId
        setPrecision(precision)
    }

    public private(set) var precision: Precision = .fp32

    /// Switches the matrix-product precision; int8 first calibrates on built-in inputs in Float32.
    public func setPrecision(_ precision: Precision) {
        if precision == .int8, self.precision != .int8 {
            text.prepare(.fp32); vision.prepare(.fp32)
            CalibrationPass.run(text: tokenizer == nil ? nil : self, image: self)
        }
        self.precision = precision
        text.prepare(precision); vision.prepare(precision)
    }

    public var textEmbeddingDimension: Int { text.embeddingDim }
    public var imageEmbeddingDimension: Int { vision.embeddingDim }
    public var imageSize: Int { config.vision.imageSize }
    public var channels: Int { config.vision.channels }

    /// The ids the text tower sees: the tokenizer's, truncated and then padded to `maxTokens` on the tokenizer's
    /// padding side — the right for SigLIP's SentencePiece tokenizer (its pad is `</s>`), the left for SigLIP 2's Gemma
    /// tokenizer unless its config says otherwise, as transformers does; either way the pooled last position holds
    /// the end-of-text token or padding after it.
    public func tokenize(_ text: String) -> [Int] {
        guard let tokenizer else { preconditionFailure("model has no tokenizer") }
        return padded(tokenizer.encode(text, maxLength: maxTokens))
    }

    func padded(_ ids: [Int]) -> [Int] {
        guard ids.count < maxTokens else { return Array(ids.prefix(maxTokens)) }
        let padding = Array(repeating: padTokenId, count: maxTokens - ids.count)
        return tokenizer?.paddingSide == .left ? padding + ids : ids + padding
    }

    public func embed(tokenBatch: [[Int]]) -> [[Float]] {
        guard !tokenBatch.isEmpty else { return [] }
        return text.embed(padded: tokenBatch.map(padded))
    }

    public func embed(pixels: UnsafePointer<Float>, count: Int) -> [Float] { vision.embed(pixels: pixels, batch: count) }
}
