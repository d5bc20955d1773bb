import GlimpseTensor

// Dimension key: B batch, S image side, p patch side, N = (S/p)² patches, T = N + 1 tokens,
// C hidden size, P projection size.

/// CLIP's vision tower (ViT): patch embedding (a stride-p convolution without bias), a class token, position
/// embeddings, pre-LayerNorm, the encoder, post-LayerNorm of the class token, and the visual projection.
public struct CLIPVisionTower: Sendable {
    public let config: CLIPVisionConfig
    let patches: PatchEmbedding      // stride-p convolution without bias, class token, positions
    let preNormWeight: Tensor, preNormBias: Tensor     // (C)
    let encoder: TransformerEncoder
    let postNormWeight: Tensor, postNormBias: Tensor   // (C)
    let projection: LinearLayer      // (P, C), no bias

    public var projectionDim: Int { projection.outFeatures }

    init(checkpoint: SafetensorsCheckpoint, config: CLIPVisionConfig) throws {
        self.config = config
        let C = config.tower.hiddenSize, p = config.patchSize, K = config.channels * p * p
        let conv = try checkpoint.tensor("vision_model.embeddings.patch_embedding.weight", shape: [C, config.channels, p, p])
        patches = PatchEmbedding(
            imageSize: config.imageSize, patchSize: p, channels: config.channels,
            projection: LinearLayer(weight: Tensor(shape: [C, K], buffer: conv.buffer), bias: nil),
            classEmbedding: try checkpoint.tensor("vision_model.embeddings.class_embedding", shape: [C]),
            positionEmbedding: try checkpoint.tensor("vision_model.embeddings.position_embedding.weight", shape: [config.tokens, C]))
        preNormWeight = try checkpoint.tensor("vision_model.pre_layrnorm.weight", shape: [C])
        preNormBias = try checkpoint.tensor("vision_model.pre_layrnorm.bias", shape: [C])
        encoder = try TransformerEncoder(checkpoint: checkpoint, layerPrefix: "vision_model.encoder.layers.", names: .clip, config: config.tower,
                                         causal: false, placement: .pre)
        postNormWeight = try checkpoint.tensor("vision_model.post_layernorm.weight", shape: [C])
        postNormBias = try checkpoint.tensor("vision_model.post_layernorm.bias", shape: [C])
        let w = try checkpoint.tensor("visual_projection.weight")
        guard w.shape.count == 2, w.shape[1] == C else {
            throw SafetensorsError.shapeMismatch(path: checkpoint.directory + "/model.safetensors", tensor: "visual_projection.weight",
                                                 expected: [-1, C], actual: w.shape)
        }
        projection = LinearLayer(weight: w, bias: nil)
    }

    init(random config: CLIPVisionConfig, projectionDim P: Int, generator g: inout SeededGenerator) {
        self.config = config
        let C = config.tower.hiddenSize, K = config.channels * config.patchSize * config.patchSize
        func values(_ n: Int, _ std: Float) -> [Float] { (0..<n).map { _ in g.normal() * std } }
        patches = PatchEmbedding(
            imageSize: config.imageSize, patchSize: config.patchSize, channels: config.channels,
            projection: LinearLayer(weight: Tensor(shape: [C, K], values: values(C * K, 0.02)), bias: nil),
            classEmbedding: Tensor(shape: [C], values: values(C, 0.02)),
            positionEmbedding: Tensor(shape: [config.tokens, C], values: values(config.tokens * C, 0.01)))
        preNormWeight = Tensor(shape: [C], values: Array(repeating: 1, count: C)); preNormBias = Tensor(zeros: [C])
        encoder = TransformerEncoder(layers: (0..<config.tower.layers).map { _ in TransformerLayer(random: config.tower, generator: &g) },
                                     config: config.tower, causal: false, placement: .pre)
        postNormWeight = Tensor(shape: [C], values: Array(repeating: 1, count: C)); postNormBias = Tensor(zeros: [C])
        projection = LinearLayer(weight: Tensor(shape: [P, C], values: values(P * C, 0.02)), bias: nil)
    }

    func prepare(_ precision: Precision) {
        encoder.prepare(precision, mlpOutputIsSensitive: false)
        projection.prepare(precision.forSensitiveLayers); patches.projection.prepare(precision.forSensitiveLayers)
    }

    /// Projected (not normalised) embeddings of a batch of preprocessed images.
    /// pixels is (B, channels, S, S) in CHW order per image; the result is (B, P) row-major.
    public func embed(pixels: UnsafePointer<Float>, batch B: Int) -> [Float] {
        let C = config.tower.hiddenSize, T = config.tokens
        let x = patches.embed(pixels: pixels, batch: B)               // (B, T, C)
        layerNorm(x.pointer, x.pointer, weight: preNormWeight.pointer, bias: preNormBias.pointer,
                  rows: B * T, channels: C, eps: config.tower.layerNormEps)
        encoder.forward(x.pointer, batch: B, tokens: T, onlyToken: .first)

        // Pool the class token of each image.
        let pooled = FloatBuffer(count: B * C, zeroed: false)         // (B, C)
        for b in 0..<B {
            layerNorm(pooled.pointer + b * C, x.pointer + b * T * C, weight: postNormWeight.pointer, bias: postNormBias.pointer,
                      rows: 1, channels: C, eps: config.tower.layerNormEps)
        }
        let out = FloatBuffer(count: B * projectionDim, zeroed: false)
        projection.forward(out.pointer, pooled.pointer, rows: B)
        return out.array
    }
}
