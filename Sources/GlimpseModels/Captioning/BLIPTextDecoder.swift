import GlimpseTensor

// Dimension key: R rows (images × beams), C hidden size, H heads, D = C / H, I intermediate size, V vocabulary,
// P positions, S image tokens, E image hidden size.

/// The sizes of BLIP's text decoder (`BlipTextConfig`).
public struct BLIPTextConfig: Sendable, Equatable {
    public var tower: TransformerConfig
    public var vocabularySize: Int
    public var maxPositions: Int
    /// Width of the image states the cross-attention reads.
    public var encoderHiddenSize: Int
    public var bosTokenId: Int, sepTokenId: Int, padTokenId: Int

    public init(json: JSONConfig) throws {
        tower = try TransformerConfig(json: json, hidden: 768, intermediate: 3072, layers: 12, heads: 8, activation: "gelu", layerNormEps: 1e-12)
        vocabularySize = try json.int("vocab_size", default: 30524)
        maxPositions = try json.int("max_position_embeddings", default: 512)
        encoderHiddenSize = try json.int("encoder_hidden_size", default: 768)
        bosTokenId = try json.int("bos_token_id", default: 30522)
        sepTokenId = try json.int("sep_token_id", default: 102)
        padTokenId = try json.int("pad_token_id", default: 0)
        for (key, value, range) in [("vocab_size", vocabularySize, 1...(1 << 24)), ("max_position_embeddings", maxPositions, 1...(1 << 20)),
                                    ("encoder_hidden_size", encoderHiddenSize, 1...(1 << 16))] where !range.contains(value) {
            throw ConfigError.invalidValue(path: json.path, key: key, reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
    }
}

/// One BERT block of the BLIP decoder, post-LayerNorm: causal self-attention, cross-attention to the image, MLP.
struct BLIPTextBlock: Sendable {
    let qkv: LinearLayer             // (3C, C): query, key, value fused
    let attentionOut: LinearLayer    // (C, C)
    let attentionNorm: LayerNormWeights
    let crossQuery: LinearLayer      // (C, C)
    let crossKeyValue: LinearLayer   // (2C, E): key, value fused
    let crossOut: LinearLayer        // (C, C)
    let crossNorm: LayerNormWeights
    let intermediate: LinearLayer    // (I, C)
    let output: LinearLayer          // (C, I)
    let outputNorm: LayerNormWeights

    init(checkpoint: SafetensorsCheckpoint, prefix p: String, config: BLIPTextConfig) throws {
        let C = config.tower.hiddenSize, I = config.tower.intermediateSize, E = config.encoderHiddenSize
        func fused(_ names: [String], inFeatures: Int) throws -> LinearLayer {
            let weight = FloatBuffer(count: names.count * C * inFeatures, zeroed: false), bias = FloatBuffer(count: names.count * C)
            for (i, name) in names.enumerated() {
                let w = try checkpoint.tensor(p + name + ".weight", shape: [C, inFeatures])
                (weight.pointer + i * C * inFeatures).update(from: w.pointer, count: C * inFeatures)
                if let b = try checkpoint.optionalTensor(p + name + ".bias", shape: [C]) { (bias.pointer + i * C).update(from: b.pointer, count: C) }
            }
            return LinearLayer(weight: Tensor(shape: [names.count * C, inFeatures], buffer: weight), bias: Tensor(shape: [names.count * C], buffer: bias))
        }
        qkv = try fused(["attention.self.query", "attention.self.key", "attention.self.value"], inFeatures: C)
        attentionOut = try LinearLayer(checkpoint: checkpoint, name: p + "attention.output.dense", outFeatures: C, inFeatures: C)
        attentionNorm = try LayerNormWeights(checkpoint: checkpoint, name: p + "attention.output.LayerNorm", channels: C)
        crossQuery = try LinearLayer(checkpoint: checkpoint, name: p + "crossattention.self.query", outFeatures: C, inFeatures: C)
        crossKeyValue = try fused(["crossattention.self.key", "crossattention.self.value"], inFeatures: E)
        crossOut = try LinearLayer(checkpoint: checkpoint, name: p + "crossattention.output.dense", outFeatures: C, inFeatures: C)
        crossNorm = try LayerNormWeights(checkpoint: checkpoint, name: p + "crossattention.output.LayerNorm", channels: C)
        intermediate = try LinearLayer(checkpoint: checkpoint, name: p + "intermediate.dense", outFeatures: I, inFeatures: C)
        output = try LinearLayer(checkpoint: checkpoint, name: p + "output.dense", outFeatures: C, inFeatures: I)
        outputNorm = try LayerNormWeights(checkpoint: checkpoint, name: p + "output.LayerNorm", channels: C)
    }

    var linears: [LinearLayer] { [qkv, attentionOut, crossQuery, crossKeyValue, crossOut, intermediate, output] }
}

/// BLIP's text decoder (`BlipTextLMHeadModel`): word and position embeddings with a LayerNorm, BERT blocks with
/// causal self-attention and cross-attention, and the prediction head (dense → activation → LayerNorm → vocabulary,
/// tied to the word embeddings, plus a bias).
public final class BLIPTextDecoder: CaptionDecoder, @unchecked Sendable {
    public let config: BLIPTextConfig
    let wordEmbedding: Tensor        // (V, C)
    let positionEmbedding: Tensor    // (P, C)
    let embeddingNorm: LayerNormWeights
    let blocks: [BLIPTextBlock]
    let transform: LinearLayer       // (C, C)
    let transformNorm: LayerNormWeights
    let head: LinearLayer            // (V, C) with bias (V)

    public var vocabularySize: Int { config.vocabularySize }
    public var maxPositions: Int { config.maxPositions }

    /// Reads `prefix` + `bert.…` and `cls.predictions.…` (prefix "text_decoder." in a BlipForConditionalGeneration).
    public init(checkpoint: SafetensorsCheckpoint, prefix: String, config: BLIPTextConfig) throws {
        self.config = config
        let C = config.tower.hiddenSize, V = config.vocabularySize, b = prefix + "bert."
        wordEmbedding = try checkpoint.tensor(b + "embeddings.word_embeddings.weight", shape: [V, C])
        positionEmbedding = try checkpoint.tensor(b + "embeddings.position_embeddings.weight", shape: [config.maxPositions, C])
        embeddingNorm = try LayerNormWeights(checkpoint: checkpoint, name: b + "embeddings.LayerNorm", channels: C)
        blocks = try (0..<config.tower.layers).map { try BLIPTextBlock(checkpoint: checkpoint, prefix: "\(b)encoder.layer.\($0).", config: config) }
        let h = prefix + "cls.predictions."
        transform = try LinearLayer(checkpoint: checkpoint, name: h + "transform.dense", outFeatures: C, inFeatures: C)
        transformNorm = try LayerNormWeights(checkpoint: checkpoint, name: h + "transform.LayerNorm", channels: C)
        let weight = try checkpoint.optionalTensor(h + "decoder.weight", shape: [V, C]) ?? wordEmbedding
        // transformers uses a stored decoder weight and bias when the checkpoint has them, else the tied tensors.
        let bias = try checkpoint.optionalTensor(h + "decoder.bias", shape: [V]) ?? checkpoint.optionalTensor(h + "bias", shape: [V])
        head = LinearLayer(weight: weight, bias: bias)
    }

    func prepare(_ precision: Precision) {
        for block in blocks { for l in block.linears { l.prepare(precision) } }
        transform.prepare(precision); head.prepare(precision.forSensitiveLayers)
    }

    public func session(encoderStates: UnsafePointer<Float>, tokens S: Int, images I: Int, rowsPerImage R: Int, capacity: Int) -> any DecoderSession {
        BLIPTextSession(decoder: self, encoderStates: encoderStates, encoderTokens: S, images: I, rowsPerImage: R,
                        capacity: min(capacity, config.maxPositions))
    }
}

/// Rows decoded together against their images (`DecoderCache` holds their keys and values; post-LayerNorm blocks).
final class BLIPTextSession: DecoderSession {
    let decoder: BLIPTextDecoder
    let rows: Int, capacity: Int
    private(set) var length = 0
    private var cache: DecoderCache
    private let x, qkv, attended, projected, hidden: FloatBuffer

    init(decoder: BLIPTextDecoder, encoderStates: UnsafePointer<Float>, encoderTokens S: Int, images I: Int, rowsPerImage: Int, capacity: Int) {
        let config = decoder.config, C = config.tower.hiddenSize, R = I * rowsPerImage
        self.decoder = decoder; rows = R; self.capacity = capacity
        cache = DecoderCache(crossProjections: decoder.blocks.map(\.crossKeyValue), hidden: C, encoderStates: encoderStates,
                             encoderTokens: S, images: I, rowsPerImage: rowsPerImage, capacity: capacity)
        x = FloatBuffer(count: R * C, zeroed: false); qkv = FloatBuffer(count: R * 3 * C, zeroed: false)
        attended = FloatBuffer(count: R * C, zeroed: false); projected = FloatBuffer(count: R * C, zeroed: false)
        hidden = FloatBuffer(count: R * config.tower.intermediateSize, zeroed: false)
    }

    func step(_ tokens: [Int]) -> [Float] {
        let config = decoder.config, tower = config.tower, C = tower.hiddenSize, H = tower.heads, D = tower.headDim
        let R = rows, eps = tower.layerNormEps, position = length
        precondition(tokens.count == R && length < capacity, "one token per row, within the decoder's positions")
        // x = LayerNorm(word[token] + position[p]): (R, C)
        for r in 0..<R {
            let token = min(max(tokens[r], 0), config.vocabularySize - 1)
            let e = decoder.wordEmbedding.pointer + token * C, p = decoder.positionEmbedding.pointer + position * C
            for c in 0..<C { x.pointer[r * C + c] = e[c] + p[c] }
        }
        decoder.embeddingNorm.apply(x.pointer, x.pointer, rows: R, eps: eps)
        let scale = 1 / Float(D).squareRoot()
        for (index, block) in decoder.blocks.enumerated() {
            // Causal self-attention over the cached positions, then add & norm.
            block.qkv.forward(qkv.pointer, x.pointer, rows: R)
            cache.store(block: index, position: position, from: qkv.pointer + C, stride: 3 * C)
            attendRows(attended.pointer, rows: R, queries: qkv.pointer, queryStride: 3 * C, keyValues: cache.selfKeyValues(block: index),
                       keys: position + 1, heads: H, headDim: D, scale: scale)
            block.attentionOut.forward(projected.pointer, attended.pointer, rows: R)
            addInPlace(x.pointer, projected.pointer, count: R * C)
            block.attentionNorm.apply(x.pointer, x.pointer, rows: R, eps: eps)
            // Cross-attention to the row's image, then add & norm.
            block.crossQuery.forward(qkv.pointer, x.pointer, rows: R)
            attendRows(attended.pointer, rows: R, queries: qkv.pointer, queryStride: C, keyValues: cache.crossKeyValues(block: index),
                       keys: cache.encoderTokens, heads: H, headDim: D, scale: scale)
            block.crossOut.forward(projected.pointer, attended.pointer, rows: R)
            addInPlace(x.pointer, projected.pointer, count: R * C)
            block.crossNorm.apply(x.pointer, x.pointer, rows: R, eps: eps)
            // MLP, then add & norm.
            block.intermediate.forward(hidden.pointer, x.pointer, rows: R)
            tower.activation.apply(hidden.pointer, count: R * tower.intermediateSize)
            block.output.forward(projected.pointer, hidden.pointer, rows: R)
            addInPlace(x.pointer, projected.pointer, count: R * C)
            block.outputNorm.apply(x.pointer, x.pointer, rows: R, eps: eps)
        }
        // Prediction head.
        decoder.transform.forward(projected.pointer, x.pointer, rows: R)
        tower.activation.apply(projected.pointer, count: R * C)
        decoder.transformNorm.apply(projected.pointer, projected.pointer, rows: R, eps: eps)
        let logits = FloatBuffer(count: R * config.vocabularySize, zeroed: false)
        decoder.head.forward(logits.pointer, projected.pointer, rows: R)
        length += 1
        return logits.array
    }

    func reorder(_ sources: [Int]) { cache.reorder(sources, positions: length) }
}
