import GlimpseTensor
import GlimpseText

/// Writes a caption for an image: an image encoder, a decoder that attends to it, generation settings and the
/// tokenizer that turns ids back into text. `VisionEncoderDecoder` (ViT + GPT-2) implements it.
public protocol ImageCaptioner: AnyObject, Sendable {
    var tokenizer: Tokenizer { get }
    /// The model's own generation settings (generation_config.json).
    var generation: GenerationConfig { get }
    /// The side of the square images the encoder takes.
    var imageSize: Int { get }
    var channels: Int { get }
    /// One generated sequence per image of `count` laid out (count, channels, S, S).
    func generate(pixels: UnsafePointer<Float>, count: Int, settings: GenerationConfig) throws -> [GeneratedSequence]
}

/// A caption and the ids it was decoded from.
public struct Caption: Sendable, Equatable {
    public var text: String
    public var ids: [Int]
    public var score: Float?

    public init(text: String, ids: [Int], score: Float? = nil) { self.text = text; self.ids = ids; self.score = score }
}

extension ImageCaptioner {
    /// Captions of preprocessed images, decoded to text without special tokens.
    public func caption(pixels: [Float], count: Int, settings: GenerationConfig? = nil) throws -> [Caption] {
        precondition(pixels.count == count * channels * imageSize * imageSize, "pixel buffer does not hold \(count) images")
        guard count > 0 else { return [] }
        let sequences = try pixels.withUnsafeBufferPointer { try generate(pixels: $0.baseAddress!, count: count, settings: settings ?? generation) }
        return sequences.map { Caption(text: tokenizer.decode($0.ids, skipSpecialTokens: true).trimmingCharacters(in: .whitespaces),
                                       ids: $0.ids, score: $0.score) }
    }
}

/// Encoder → (projection) → decoder generation, shared by every captioner: all images encoded in one batch, then
/// decoded together (`TokenGenerator.generate(images:)`).
func generateCaptions(encoder: ViTEncoder, projection: LinearLayer?, decoder: any CaptionDecoder, pixels: UnsafePointer<Float>,
                      count B: Int, settings: GenerationConfig, configPath: String) throws -> [GeneratedSequence] {
    guard settings.effectiveMaxLength <= decoder.maxPositions else {
        throw ConfigError.invalidValue(path: configPath, key: "max_length",
                                       reason: "\(settings.effectiveMaxLength) tokens exceed the decoder's \(decoder.maxPositions) positions")
    }
    let T = encoder.config.tokens
    var states = encoder.encode(pixels: pixels, batch: B)          // (B, T, E)
    if let projection {
        let projected = FloatBuffer(count: B * T * projection.outFeatures, zeroed: false)   // (B, T, C)
        projection.forward(projected.pointer, states.pointer, rows: B * T)
        states = projected
    }
    return try TokenGenerator(config: settings).generate(images: B) { rows, capacity in
        decoder.session(encoderStates: states.pointer, tokens: T, images: B, rowsPerImage: rows / B, capacity: capacity)
    }
}
