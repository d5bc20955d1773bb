import GlimpseTensor

// Dimension key: T tokens, C hidden size, P projection size, V vocabulary size.

/// CLIP's text tower: token + position embeddings, a causal encoder, final LayerNorm, the hidden state at the
/// end-of-text token, and the text projection.
public struct CLIPTextTower: Sendable {
    public let config: CLIPTextConfig
    let tokenEmbedding: Tensor       // (V, C)
    let positionEmbedding: Tensor    // (maxPositions, C)
    let encoder: TransformerEncoder
    let finalNormWeight: Tensor, finalNormBias: Tensor   // (C)
    let projection: LinearLayer      // (P, C), no bias

    public var projectionDim: Int { projection.outFeatures }

    init(checkpoint: SafetensorsCheckpoint, config: CLIPTextConfig) throws {
        self.config = config
        let C = config.tower.hiddenSize
        tokenEmbedding = try checkpoint.tensor("text_model.embeddings.token_embedding.weight", shape: [config.vocabSize, C])
        positionEmbedding = try checkpoint.tensor("text_model.embeddings.position_embedding.weight", shape: [config.maxPositions, C])
        encoder = try TransformerEncoder(checkpoint: checkpoint, layerPrefix: "text_model.encoder.layers.", names: .clip, config: config.tower,
                                         causal: true, placement: .pre)
        finalNormWeight = try checkpoint.tensor("text_model.final_layer_norm.weight", shape: [C])
        finalNormBias = try checkpoint.tensor("text_model.final_layer_norm.bias", shape: [C])
        let w = try checkpoint.tensor("text_projection.weight")
        guard w.shape.count == 2, w.shape[1] == C else {
            throw SafetensorsError.shapeMismatch(path: checkpoint.directory + "/model.safetensors", tensor: "text_projection.weight",
                                                 expected: [-1, C], actual: w.shape)
        }
        projection = LinearLayer(weight: w, bias: nil)
    }

    init(random config: CLIPTextConfig, projectionDim P: Int, generator g: inout SeededGenerator) {
        self.config = config
        let C = config.tower.hiddenSize
        tokenEmbedding = Tensor(shape: [config.vocabSize, C], values: (0..<(config.vocabSize * C)).map { _ in g.normal() * 0.02 })
        positionEmbedding = Tensor(shape: [config.maxPositions, C], values: (0..<(config.maxPositions * C)).map { _ in g.normal() * 0.01 })
        encoder = TransformerEncoder(layers: (0..<config.tower.layers).map { _ in TransformerLayer(random: config.tower, generator: &g) },
                                     config: config.tower, causal: true, placement: .pre)
        finalNormWeight = Tensor(shape: [C], values: Array(repeating: 1, count: C))
        finalNormBias = Tensor(zeros: [C])
        projection = LinearLayer(weight: Tensor(shape: [P, C], values: (0..<(P * C)).map { _ in g.normal() * 0.02 }), bias: nil)
    }

    func prepare(_ precision: Precision) { encoder.prepare(precision); projection.prepare(precision.forSensitiveLayers) }

    /// The position whose hidden state is pooled: the first end-of-text token, or for legacy configs whose
    /// eos_token_id is 2, the largest id (transformers does the same).
    func poolingPosition(_ ids: [Int]) -> Int {
        if config.eosTokenId == 2 {
            return ids.indices.max { ids[$0] < ids[$1] || (ids[$0] == ids[$1] && $0 > $1) } ?? 0
        }
        return ids.firstIndex(of: config.eosTokenId) ?? 0
    }

    /// Projected (not normalised) embeddings of several tokenised texts in one forward pass, (B, P).
    /// Sequences are padded on the right to the longest pooled position; the causal mask keeps padding from
    /// reaching any earlier position, so each text's pooled row is exactly what `embed(ids:)` computes.
    /// A batch reads the weights once for all texts: the cost of a memory-bound query is shared.
    public func embed(batch: [[Int]]) -> [[Float]] {
        guard batch.count > 1 else { return batch.map { embed(ids: $0) } }
        let C = config.tower.hiddenSize, B = batch.count
        let pools = batch.map { min(poolingPosition($0), config.maxPositions - 1) }
        let T = pools.max()! + 1
        let x = FloatBuffer(count: B * T * C, zeroed: false)  // (B, T, C)
        for (b, ids) in batch.enumerated() {
            for t in 0..<T {
                let id = t < ids.count ? min(max(ids[t], 0), config.vocabSize - 1) : config.eosTokenId % config.vocabSize
                let row = x.pointer + (b * T + t) * C
                let tok = tokenEmbedding.pointer + id * C
                let pos = positionEmbedding.pointer + t * C
                for c in 0..<C { row[c] = tok[c] + pos[c] }
            }
        }
        encoder.forward(x.pointer, batch: B, tokens: T)
        let pooled = FloatBuffer(count: B * C, zeroed: false)   // (B, C)
        for b in 0..<B {
            layerNorm(pooled.pointer + b * C, x.pointer + (b * T + pools[b]) * C, weight: finalNormWeight.pointer,
                      bias: finalNormBias.pointer, rows: 1, channels: C, eps: config.tower.layerNormEps)
        }
        let out = FloatBuffer(count: B * projectionDim, zeroed: false)
        projection.forward(out.pointer, pooled.pointer, rows: B)
        let all = out.array
        return (0..<B).map { Array(all[($0 * projectionDim)..<(($0 + 1) * projectionDim)]) }
    }

    /// The projected (not normalised) embedding of one tokenised text, (P).
    /// The causal mask makes positions after the pooled one irrelevant, so only tokens 0...pool are computed.
    public func embed(ids allIds: [Int]) -> [Float] {
        precondition(!allIds.isEmpty, "empty token sequence")
        let C = config.tower.hiddenSize
        let pool = min(poolingPosition(allIds), config.maxPositions - 1)
        let T = pool + 1
        let x = FloatBuffer(count: T * C, zeroed: false)  // (T, C)
        for t in 0..<T {
            let id = min(max(allIds[t], 0), config.vocabSize - 1)
            let row = x.pointer + t * C
            let tok = tokenEmbedding.pointer + id * C
            let pos = positionEmbedding.pointer + t * C
            for c in 0..<C { row[c] = tok[c] + pos[c] }
        }
        encoder.forward(x.pointer, batch: 1, tokens: T)
        let pooled = FloatBuffer(count: C, zeroed: false)
        layerNorm(pooled.pointer, x.pointer + pool * C, weight: finalNormWeight.pointer, bias: finalNormBias.pointer,
                  rows: 1, channels: C, eps: config.tower.layerNormEps)
        let out = FloatBuffer(count: projectionDim, zeroed: false)
        projection.forward(out.pointer, pooled.pointer, rows: 1)
        return out.array
    }
}
