import GlimpseTensor

// Dimension key: B batch, T = L fixed text length, C hidden size, P projection size, V vocabulary size.

/// SigLIP's text tower: token + position embeddings, a bidirectional pre-norm encoder (no causal mask, no padding
/// mask: the model was trained attending to its padding), final LayerNorm, the hidden state at the LAST position
/// (padding, for short texts: results depend on padding to the fixed length), and a linear head with a bias.
public struct SiglipTextTower: Sendable {
    public let config: SiglipTextConfig
    let tokenEmbedding: Tensor       // (V, C)
    let positionEmbedding: Tensor    // (L, C)
    let encoder: TransformerEncoder
    let finalNorm: LayerNormWeights
    let head: LinearLayer            // (P, C) with bias

    public var embeddingDim: Int { head.outFeatures }

    init(checkpoint: SafetensorsCheckpoint, config: SiglipTextConfig) throws {
        self.config = config
        let C = config.tower.hiddenSize
        tokenEmbedding = try checkpoint.tensor("text_model.embeddings.token_embedding.weight", shape: [config.vocabSize, C])
        positionEmbedding = try checkpoint.tensor("text_model.embeddings.position_embedding.weight", shape: [config.maxPositions, C])
        encoder = try TransformerEncoder(checkpoint: checkpoint, layerPrefix: "text_model.encoder.layers.", names: .clip, config: config.tower,
                                         causal: false, placement: .pre)
        finalNorm = try LayerNormWeights(checkpoint: checkpoint, name: "text_model.final_layer_norm", channels: C)
        head = try LinearLayer(checkpoint: checkpoint, name: "text_model.head", outFeatures: config.projectionSize, inFeatures: C)
    }

    init(random config: SiglipTextConfig, generator g: inout SeededGenerator) {
        self.config = config
        let C = config.tower.hiddenSize
        tokenEmbedding = Tensor(shape: [config.vocabSize, C], values: (0..<(config.vocabSize * C)).map { _ in g.normal() * 0.02 })
        positionEmbedding = Tensor(shape: [config.maxPositions, C], values: (0..<(config.maxPositions * C)).map { _ in g.normal() * 0.01 })
        encoder = TransformerEncoder(layers: (0..<config.tower.layers).map { _ in TransformerLayer(random: config.tower, generator: &g) },
                                     config: config.tower, causal: false, placement: .pre)
        finalNorm = LayerNormWeights(channels: C)
        head = LinearLayer(weight: Tensor(shape: [config.projectionSize, C], values: (0..<(config.projectionSize * C)).map { _ in g.normal() * 0.02 }),
                           bias: Tensor(zeros: [config.projectionSize]))
    }

    func prepare(_ precision: Precision) { encoder.prepare(precision); head.prepare(precision.forSensitiveLayers) }

    /// Embeddings (not normalised) of texts already padded to one length L ≤ max_position_embeddings, (B, P).
    public func embed(padded batch: [[Int]]) -> [[Float]] {
        guard let L = batch.first?.count, L > 0 else { return batch.map { _ in [] } }
        precondition(batch.allSatisfy { $0.count == L } && L <= config.maxPositions, "texts must be padded to one length ≤ \(config.maxPositions)")
        let C = config.tower.hiddenSize, B = batch.count, P = embeddingDim
        let x = FloatBuffer(count: B * L * C, zeroed: false)    // (B, L, C)
        for (b, ids) in batch.enumerated() {
            for (t, raw) in ids.enumerated() {
                let id = min(max(raw, 0), config.vocabSize - 1)
                let row = x.pointer + (b * L + t) * C, tok = tokenEmbedding.pointer + id * C, pos = positionEmbedding.pointer + t * C
                for c in 0..<C { row[c] = tok[c] + pos[c] }
            }
        }
        encoder.forward(x.pointer, batch: B, tokens: L, onlyToken: .last)
        let last = FloatBuffer(count: B * C, zeroed: false)     // (B, C)
        for b in 0..<B {
            finalNorm.apply(last.pointer + b * C, x.pointer + (b * L + L - 1) * C, rows: 1, eps: config.tower.layerNormEps)
        }
        let out = FloatBuffer(count: B * P, zeroed: false)
        head.forward(out.pointer, last.pointer, rows: B)
        let all = out.array
        return (0..<B).map { Array(all[($0 * P)..<(($0 + 1) * P)]) }
    }
}
