import Foundation
import GlimpseTensor

/// The Float32 forward passes int8 is calibrated on when a model loads (see `Int8Calibration`): built-in sentences
/// in several languages and scripts through the text tower, synthetic images (gradients, edges, texture) through the
/// image tower. Outlier channels are a property of the weights, so a few varied inputs find them.
enum CalibrationPass {
    static let texts = [
        "a photo of a dog", "two children running in front of a house", "A snowy mountain peak under a clear blue sky.",
        "Close-up of a bee collecting pollen from a yellow flower.", "a black and white photograph of a busy city street at night",
        "一朵红花", "集合写真、東京の桜", "Ein Foto von einer Katze, die auf dem Sofa schläft.", "Una foto de la playa al atardecer",
        "IMG_2041.JPG", "receipt total $12.50", "🙂", "", "the the the the the the the the",
        "Portrait of a young woman wearing a straw hat, soft light, shallow depth of field, 85 mm lens",
        "Привет, мир! Это тест.",
    ]

    /// Runs the passes with every linear layer recording; a tower may be nil (a text-only model).
    static func run(text: (any TextEncoder)?, image: (any ImageEncoder)?) {
        Int8Calibration.record {
            if let text, text.tokenizer != nil { _ = text.embed(texts: texts) }
            if let image { _ = image.embed(pixels: syntheticImages(image, count: 2), count: 2) }
        }
    }

    /// (count, channels, S, S) normalised pixels: smooth gradients, a hard edge, stripes and noise in CLIP's range.
    static func syntheticImages(_ encoder: any ImageEncoder, count: Int) -> [Float] {
        let S = encoder.imageSize, C = encoder.channels
        var generator = SeededGenerator(seed: 11)
        var pixels = [Float](repeating: 0, count: count * C * S * S)
        for i in 0..<count {
            for c in 0..<C {
                for y in 0..<S {
                    for x in 0..<S {
                        let u = Float(x) / Float(S), v = Float(y) / Float(S)
                        var value = (i == 0 ? u : v) * 2 - 1 + 0.6 * Float(c - 1) * (u - v)
                        if (i == 0 && u > 0.6) || (i == 1 && v + u > 1.2) { value += 0.8 }
                        value += 0.4 * sinf(Float(x + 3 * c) * (i == 0 ? 0.7 : 0.25)) + 0.2 * generator.normal()
                        pixels[((i * C + c) * S + y) * S + x] = max(-1.8, min(2.1, value * 1.2))
                    }
                }
            }
        }
        return pixels
    }
}
