import Foundation
import GlimpseTensor
import GlimpseText

// Dimension key: B images, T encoder tokens, E encoder hidden size, C decoder hidden size.

/// transformers' `VisionEncoderDecoderModel` with a ViT encoder and a GPT-2 decoder (`nlpconnect/vit-gpt2-image-captioning`):
/// the encoder's states, projected to the decoder's width when they differ (`enc_to_dec_proj`), are what every
/// decoder block cross-attends to.
public final class VisionEncoderDecoder: ImageCaptioner, @unchecked Sendable {
    public let directory: String
    public let encoder: ViTEncoder
    public let decoder: any CaptionDecoder
    let projection: LinearLayer?   // (C, E)
    public let tokenizer: Tokenizer
    public let generation: GenerationConfig

    public var imageSize: Int { encoder.config.imageSize }
    public var channels: Int { encoder.config.channels }

    public init(directory: String, precision: Precision = .fp32) throws {
        try ModelError.requireFolder(directory)
        self.directory = directory
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        let json = try JSONConfig(contentsOf: configPath)
        let encoderJSON = try json.object("encoder"), decoderJSON = try json.object("decoder")
        let encoderType = try encoderJSON.optionalString("model_type"), decoderType = try decoderJSON.optionalString("model_type")
        guard encoderType == "vit" else {
            throw ConfigError.unsupported(path: configPath, reason: "encoder model_type \"\(encoderType ?? "none")\" is not supported (vit)")
        }
        guard decoderType == "gpt2" else {
            throw ConfigError.unsupported(path: configPath, reason: "decoder model_type \"\(decoderType ?? "none")\" is not supported (gpt2)")
        }
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        encoder = try ViTEncoder(checkpoint: checkpoint, prefix: "encoder.", config: ViTConfig(json: encoderJSON))
        let gpt2 = try GPT2Decoder(checkpoint: checkpoint, prefix: "decoder.", config: GPT2Config(json: decoderJSON))
        decoder = gpt2
        let E = encoder.config.tower.hiddenSize, C = gpt2.config.hiddenSize
        if checkpoint.has("enc_to_dec_proj.weight") || E != C {
            projection = try LinearLayer(checkpoint: checkpoint, name: "enc_to_dec_proj", outFeatures: C, inFeatures: E)
        } else {
            projection = nil
        }
        tokenizer = try Tokenizer(directory: directory)
        generation = try GenerationConfig(directory: directory)
        encoder.prepare(precision); gpt2.prepare(precision); projection?.prepare(precision)
    }

    public func generate(pixels: UnsafePointer<Float>, count B: Int, settings: GenerationConfig) throws -> [GeneratedSequence] {
        try generateCaptions(encoder: encoder, projection: projection, decoder: decoder, pixels: pixels, count: B, settings: settings,
                             configPath: directory + "/generation_config.json")
    }
}
