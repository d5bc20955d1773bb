import Foundation
import GlimpseTensor
import GlimpseText

/// transformers' `BlipForConditionalGeneration` (`Salesforce/blip-image-captioning-base` / `-large`): BLIP's ViT and
/// a BERT decoder with cross-attention. Captions start from the decoder's bos token (`[DEC]`) and end at `[SEP]`,
/// as BLIP's `generate()` sets them whatever generation_config.json says (see `generation`).
public final class BLIPCaptioner: ImageCaptioner, @unchecked Sendable {
    public let directory: String
    public let encoder: ViTEncoder
    public let decoder: BLIPTextDecoder
    public let tokenizer: Tokenizer
    public let generation: GenerationConfig

    public var imageSize: Int { encoder.config.imageSize }
    public var channels: Int { encoder.config.channels }

    public init(directory: String, precision: Precision = .fp32) throws {
        try ModelError.requireFolder(directory)
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let json = try JSONConfig(contentsOf: configPath)
        let architectures = json.values["architectures"] as? [String] ?? []
        guard architectures.isEmpty || architectures.contains("BlipForConditionalGeneration") else {
            throw ConfigError.unsupported(path: configPath, reason: "architectures \(architectures): only BlipForConditionalGeneration (captioning) is supported among BLIP models")
        }
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let vision = try ViTConfig(json: json.object("vision_config"), blip: true)
        let text = try BLIPTextConfig(json: json.object("text_config"))
        guard text.encoderHiddenSize == vision.tower.hiddenSize else {
            throw ModelError.mismatch(path: configPath, reason: "text_config.encoder_hidden_size \(text.encoderHiddenSize) differs from the vision hidden size \(vision.tower.hiddenSize)")
        }
        encoder = try ViTEncoder(checkpoint: checkpoint, prefix: "vision_model.", config: vision, names: .blip)
        decoder = try BLIPTextDecoder(checkpoint: checkpoint, prefix: "text_decoder.", config: text)
        tokenizer = try Tokenizer(directory: directory)
        // As transformers 5 runs BLIP's generate() without arguments: its text decoder has a generation config of its
        // own, so generation_config.json never reaches it — greedy, at most 20 new tokens (within the positions).
        var generation = GenerationConfig()
        generation.maxLength = min(1 + 20, text.maxPositions)
        generation.decoderStartTokenId = text.bosTokenId
        generation.bosTokenId = text.bosTokenId
        generation.eosTokenIds = [text.sepTokenId]
        generation.padTokenId = text.padTokenId
        self.generation = generation
        encoder.prepare(precision); decoder.prepare(precision)
    }

    public func generate(pixels: UnsafePointer<Float>, count B: Int, settings: GenerationConfig) throws -> [GeneratedSequence] {
        try generateCaptions(encoder: encoder, projection: nil, decoder: decoder, pixels: pixels, count: B, settings: settings,
                             configPath: directory + "/generation_config.json")
    }
}
