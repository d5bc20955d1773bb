import GlimpseTensor

// Dimension key: B batch, T tokens (the longest sequence of the batch), C hidden size, V vocabulary size.

/// A BERT-family text transformer (BERT, RoBERTa / XLM-RoBERTa, DistilBERT, Chinese-CLIP's text tower):
/// token + position (+ token type 0) embeddings, a layer norm, then post-norm blocks; bidirectional attention with a
/// key-padding mask, so a text gives the same hidden states alone or in a padded batch.
public struct BERTModel: Sendable {
    public let config: BERTConfig
    let wordEmbedding: Tensor          // (V, C)
    let positionEmbedding: Tensor      // (maxPositions, C)
    let tokenTypeEmbedding: Tensor?    // (typeVocab, C); row 0 is added to every token
    let embeddingNorm: LayerNormWeights
    let encoder: TransformerEncoder

    /// Prefixes under which checkpoints store the transformer: a bare AutoModel, a task model, a tower of a dual model.
    static let checkpointPrefixes = ["", "bert.", "roberta.", "distilbert.", "model.", "text_model.", "0.auto_model."]

    /// Reads the weights; `prefix` nil finds it among the usual ones.
    public init(checkpoint: SafetensorsCheckpoint, config: BERTConfig, prefix: String? = nil) throws {
        self.config = config
        let C = config.encoder.hiddenSize
        let wordName = "embeddings.word_embeddings.weight"
        guard let p = prefix ?? Self.checkpointPrefixes.first(where: { checkpoint.has($0 + wordName) }) else {
            throw SafetensorsError.missingTensor(path: checkpoint.directory + "/model.safetensors", tensor: wordName)
        }
        wordEmbedding = try checkpoint.tensor(p + wordName, shape: [config.vocabSize, C])
        positionEmbedding = try checkpoint.tensor(p + "embeddings.position_embeddings.weight", shape: [config.maxPositions, C])
        tokenTypeEmbedding = config.typeVocabSize > 0
            ? try checkpoint.optionalTensor(p + "embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, C]) : nil
        embeddingNorm = try LayerNormWeights(checkpoint: checkpoint, name: p + "embeddings.LayerNorm", channels: C)
        switch config.family {
        case .distilBERT:
            encoder = try TransformerEncoder(checkpoint: checkpoint, layerPrefix: p + "transformer.layer.", names: .distilBERT,
                                             config: config.encoder, causal: false, placement: .post)
        case .bert, .roberta:
            encoder = try TransformerEncoder(checkpoint: checkpoint, layerPrefix: p + "encoder.layer.", names: .bert,
                                             config: config.encoder, causal: false, placement: .post)
        }
    }

    /// Random weights of the given shape, for benchmarks.
    public init(random config: BERTConfig, generator g: inout SeededGenerator) {
        self.config = config
        let C = config.encoder.hiddenSize
        func values(_ n: Int, _ std: Float) -> [Float] { (0..<n).map { _ in g.normal() * std } }
        wordEmbedding = Tensor(shape: [config.vocabSize, C], values: values(config.vocabSize * C, 0.02))
        positionEmbedding = Tensor(shape: [config.maxPositions, C], values: values(config.maxPositions * C, 0.02))
        tokenTypeEmbedding = config.typeVocabSize > 0 ? Tensor(shape: [config.typeVocabSize, C], values: values(config.typeVocabSize * C, 0.02)) : nil
        embeddingNorm = LayerNormWeights(channels: C)
        encoder = TransformerEncoder(layers: (0..<config.encoder.layers).map { _ in TransformerLayer(random: config.encoder, generator: &g) },
                                     config: config.encoder, causal: false, placement: .post)
    }

    func prepare(_ precision: Precision) { encoder.prepare(precision) }

    /// The last hidden states of a batch of token sequences, right-padded to the longest: (B, T, C) with T and the
    /// real lengths. Sequences longer than the position table are cut to `config.maxTokens`.
    public func hiddenStates(_ batch: [[Int]]) -> (states: FloatBuffer, tokens: Int, lengths: [Int]) {
        let C = config.encoder.hiddenSize, B = batch.count
        let lengths = batch.map { max(1, min($0.count, config.maxTokens)) }
        let T = lengths.max() ?? 1
        let x = FloatBuffer(count: B * T * C, zeroed: false)   // (B, T, C)
        let type0 = tokenTypeEmbedding?.pointer
        for (b, ids) in batch.enumerated() {
            var nonPadSeen = 0
            for t in 0..<T {
                let real = t < lengths[b] && t < ids.count
                let id = real ? min(max(ids[t], 0), config.vocabSize - 1) : min(config.padTokenId, config.vocabSize - 1)
                let position: Int
                if config.family == .roberta {
                    // transformers' create_position_ids_from_input_ids: positions count the tokens that are not the
                    // padding id, from padding_idx + 1; a padding id (even a literal "<pad>" in the text) sits at padding_idx.
                    if id == config.padTokenId { position = config.padTokenId } else { nonPadSeen += 1; position = config.padTokenId + nonPadSeen }
                } else {
                    position = t
                }
                let row = x.pointer + (b * T + t) * C
                let word = wordEmbedding.pointer + id * C
                let pos = positionEmbedding.pointer + min(position, config.maxPositions - 1) * C
                if let type0 {
                    for c in 0..<C { row[c] = word[c] + pos[c] + type0[c] }
                } else {
                    for c in 0..<C { row[c] = word[c] + pos[c] }
                }
            }
        }
        embeddingNorm.apply(x.pointer, x.pointer, rows: B * T, eps: config.encoder.layerNormEps)
        encoder.forward(x.pointer, batch: B, tokens: T, keyLengths: lengths)
        return (x, T, lengths)
    }
}

extension BERTModel {
    /// Switches the matrix-product precision of a model built outside a loader (benchmarks).
    public func prepareForBenchmark(_ precision: Precision) { prepare(precision) }
}
