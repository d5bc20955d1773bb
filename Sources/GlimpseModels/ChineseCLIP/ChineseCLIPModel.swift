import Foundation
import GlimpseTensor
import GlimpseText

// Dimension key: B batch, T tokens, C text hidden size, P projection size.

/// Chinese-CLIP (`ChineseCLIPModel`, e.g. OFA-Sys/chinese-clip-vit-base-patch16): a BERT text tower whose first
/// token's last hidden state is projected (no pooler), and CLIP's vision tower.
public final class ChineseCLIPModel: TextEncoder, ImageEncoder, @unchecked Sendable {
    public let directory: String
    public let textConfig: BERTConfig
    public let visionConfig: CLIPVisionConfig
    public let text: BERTModel
    let textProjection: LinearLayer      // (P, C), no bias
    public let vision: CLIPVisionTower
    public let tokenizer: Tokenizer?
    public let maxTokens: Int

    public init(directory: String, precision: Precision = .fp32) throws {
        try ModelError.requireFolder(directory)
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let json = try JSONConfig(contentsOf: configPath)
        let modelType = try json.optionalString("model_type")
        guard modelType == "chinese_clip" else {
            throw ConfigError.unsupported(path: configPath, reason: "model_type \"\(modelType ?? "none")\" is not chinese_clip")
        }
        textConfig = try BERTConfig(json: try json.object("text_config"), defaultType: "chinese_clip_text_model")
        visionConfig = try CLIPVisionConfig(json: try json.object("vision_config"))
        let projectionDim = try json.int("projection_dim", default: 512)
        try json.require("projection_dim", projectionDim, in: 1...(1 << 16))
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        text = try BERTModel(checkpoint: checkpoint, config: textConfig, prefix: "text_model.")
        textProjection = LinearLayer(weight: try checkpoint.tensor("text_projection.weight", shape: [projectionDim, textConfig.encoder.hiddenSize]), bias: nil)
        vision = try CLIPVisionTower(checkpoint: checkpoint, config: visionConfig)
        guard vision.projectionDim == projectionDim else {
            throw ModelError.mismatch(path: configPath, reason: "visual projection has \(vision.projectionDim) outputs but projection_dim is \(projectionDim)")
        }
        let tokenizer = try Tokenizer(directory: directory)
        self.tokenizer = tokenizer
        maxTokens = min(tokenizer.modelMaxLength ?? textConfig.maxTokens, textConfig.maxTokens)
        setPrecision(precision)
    }

    /// Switches the matrix-product precision; int8 first calibrates on built-in inputs in Float32.
    public func setPrecision(_ precision: Precision) {
        if precision == .int8 {
            text.prepare(.fp32); textProjection.prepare(.fp32); vision.prepare(.fp32)
            CalibrationPass.run(text: self, image: self)
        }
        text.prepare(precision); textProjection.prepare(precision.forSensitiveLayers); vision.prepare(precision)
    }

    public var textEmbeddingDimension: Int { textProjection.outFeatures }
    public var imageEmbeddingDimension: Int { vision.projectionDim }
    public var imageSize: Int { visionConfig.imageSize }
    public var channels: Int { visionConfig.channels }

    public func embed(tokenBatch: [[Int]]) -> [[Float]] {
        guard !tokenBatch.isEmpty else { return [] }
        let (states, T, lengths) = text.hiddenStates(tokenBatch)
        let C = textConfig.encoder.hiddenSize, P = textEmbeddingDimension, B = tokenBatch.count
        let first = pool(states.pointer, batch: B, tokens: T, channels: C, lengths: lengths, modes: [.cls]).flatMap { $0 }  // (B, C)
        var out = [Float](repeating: 0, count: B * P)
        first.withUnsafeBufferPointer { i in out.withUnsafeMutableBufferPointer { o in textProjection.forward(o.baseAddress!, i.baseAddress!, rows: B) } }
        return (0..<B).map { Array(out[($0 * P)..<(($0 + 1) * P)]) }
    }

    public func embed(pixels: UnsafePointer<Float>, count: Int) -> [Float] { vision.embed(pixels: pixels, batch: count) }
}
