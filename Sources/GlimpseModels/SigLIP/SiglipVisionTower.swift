import GlimpseTensor

// Dimension key: B batch, S image side, p patch side, T = N = (S/p)² patch tokens, C hidden size, K = channels·p·p.

/// SigLIP's vision tower: patch embedding (a stride-p convolution with a bias), learned position embeddings and no
/// class token, the pre-norm encoder, post-LayerNorm over every token, and the attention-pooling head, whose output
/// (C) is the image embedding (no projection).
public struct SiglipVisionTower: Sendable {
    public let config: SiglipVisionConfig
    let patches: PatchEmbedding
    let encoder: TransformerEncoder
    let postNorm: LayerNormWeights
    let head: AttentionPoolingHead

    public var embeddingDim: Int { config.tower.hiddenSize }

    init(checkpoint: SafetensorsCheckpoint, config: SiglipVisionConfig) throws {
        self.config = config
        let C = config.tower.hiddenSize, p = config.patchSize, K = config.channels * p * p
        let conv = try checkpoint.tensor("vision_model.embeddings.patch_embedding.weight", shape: [C, config.channels, p, p])
        patches = PatchEmbedding(
            imageSize: config.imageSize, patchSize: p, channels: config.channels,
            projection: LinearLayer(weight: Tensor(shape: [C, K], buffer: conv.buffer),
                                    bias: try checkpoint.optionalTensor("vision_model.embeddings.patch_embedding.bias", shape: [C])),
            classEmbedding: nil,
            positionEmbedding: try checkpoint.tensor("vision_model.embeddings.position_embedding.weight", shape: [config.tokens, C]))
        encoder = try TransformerEncoder(checkpoint: checkpoint, layerPrefix: "vision_model.encoder.layers.", names: .clip, config: config.tower,
                                         causal: false, placement: .pre)
        postNorm = try LayerNormWeights(checkpoint: checkpoint, name: "vision_model.post_layernorm", channels: C)
        head = try AttentionPoolingHead(checkpoint: checkpoint, prefix: "vision_model.head.", config: config.tower)
    }

    init(random config: SiglipVisionConfig, generator g: inout SeededGenerator) {
        self.config = config
        let C = config.tower.hiddenSize, K = config.channels * config.patchSize * config.patchSize
        func values(_ n: Int, _ std: Float) -> [Float] { (0..<n).map { _ in g.normal() * std } }
        patches = PatchEmbedding(
            imageSize: config.imageSize, patchSize: config.patchSize, channels: config.channels,
            projection: LinearLayer(weight: Tensor(shape: [C, K], values: values(C * K, 0.02)), bias: Tensor(zeros: [C])),
            classEmbedding: nil,
            positionEmbedding: Tensor(shape: [config.tokens, C], values: values(config.tokens * C, 0.01)))
        encoder = TransformerEncoder(layers: (0..<config.tower.layers).map { _ in TransformerLayer(random: config.tower, generator: &g) },
                                     config: config.tower, causal: false, placement: .pre)
        postNorm = LayerNormWeights(channels: C)
        head = AttentionPoolingHead(random: config.tower, generator: &g)
    }

    func prepare(_ precision: Precision) {
        encoder.prepare(precision, mlpOutputIsSensitive: false)
        patches.projection.prepare(precision.forSensitiveLayers)
        head.prepare(precision)
    }

    /// Embeddings (not normalised) of a batch of preprocessed images laid out (B, channels, S, S): (B, C) row-major.
    public func embed(pixels: UnsafePointer<Float>, batch B: Int) -> [Float] {
        let T = config.tokens
        let x = patches.embed(pixels: pixels, batch: B)               // (B, T, C)
        encoder.forward(x.pointer, batch: B, tokens: T)
        postNorm.apply(x.pointer, x.pointer, rows: B * T, eps: config.tower.layerNormEps)
        return head.pool(x.pointer, batch: B, tokens: T).array
    }
}
