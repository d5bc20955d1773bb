import GlimpseTensor
import GlimpseText

/// Turns texts into vectors of a shared embedding space. CLIP's text tower, Chinese-CLIP's, and every
/// sentence-transformers model implement it; the engine, CLI and server only see this.
public protocol TextEncoder: AnyObject, Sendable {
    /// The tokenizer, nil for a model with random weights (benchmarks).
    var tokenizer: Tokenizer? { get }
    /// Ids kept per text, special tokens included; longer texts are truncated as transformers does.
    var maxTokens: Int { get }
    var textEmbeddingDimension: Int { get }
    /// The ids the encoder sees for a text (a default below; SigLIP pads to its fixed length).
    func tokenize(_ text: String) -> [Int]
    /// Embeddings (not normalised) of tokenised texts, computed as one batch.
    func embed(tokenBatch: [[Int]]) -> [[Float]]
}

/// Turns preprocessed images into vectors of a shared embedding space.
public protocol ImageEncoder: AnyObject, Sendable {
    var imageEmbeddingDimension: Int { get }
    /// The side of the square images the encoder takes.
    var imageSize: Int { get }
    var channels: Int { get }
    /// Embeddings (not normalised) of `count` images laid out (count, channels, S, S): (count, P) row-major.
    func embed(pixels: UnsafePointer<Float>, count: Int) -> [Float]
}

extension TextEncoder {
    /// The ids the encoder sees for a text.
    public func tokenize(_ text: String) -> [Int] {
        guard let tokenizer else { preconditionFailure("model has no tokenizer") }
        return tokenizer.encode(text, maxLength: maxTokens)
    }

    /// L2-normalised embeddings of several texts, in the order given. Up to `batchSize` texts (a server's
    /// concurrent queries) go in one padded pass; longer lists are sorted by length and cut into passes of similar
    /// lengths, as sentence-transformers does, since padding thousands of texts to the longest wastes most of the work.
    public func embed(texts: [String], batchSize: Int = 32) -> [[Float]] {
        let ids = texts.map(tokenize)
        guard ids.count > batchSize else { return ids.isEmpty ? [] : embed(tokenBatch: ids).map(normalized) }
        let longestFirst = ids.indices.sorted { ids[$0].count > ids[$1].count }
        var out = [[Float]](repeating: [], count: ids.count)
        for start in stride(from: 0, to: longestFirst.count, by: batchSize) {
            let pass = longestFirst[start..<min(start + batchSize, longestFirst.count)]
            for (i, embedding) in zip(pass, embed(tokenBatch: pass.map { ids[$0] })) { out[i] = normalized(embedding) }
        }
        return out
    }

    /// The L2-normalised embedding of a text.
    public func embed(text: String) -> [Float] { embed(texts: [text])[0] }
}

extension ImageEncoder {
    /// L2-normalised embeddings of preprocessed images, `count` of them laid out (count, channels, S, S).
    public func embed(pixels: [Float], count: Int) -> [[Float]] {
        let S = imageSize, P = imageEmbeddingDimension
        precondition(pixels.count == count * channels * S * S, "pixel buffer does not hold \(count) images of \(S)×\(S)")
        guard count > 0 else { return [] }
        let flat = pixels.withUnsafeBufferPointer { embed(pixels: $0.baseAddress!, count: count) }
        return (0..<count).map { normalized(Array(flat[($0 * P)..<(($0 + 1) * P)])) }
    }
}

/// The vector scaled to unit length.
public func normalized(_ v: [Float]) -> [Float] {
    var out = v
    out.withUnsafeMutableBufferPointer { l2NormalizeRows($0.baseAddress!, rows: 1, channels: v.count) }
    return out
}
