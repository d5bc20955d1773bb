import GlimpseTensor

// Dimension key: B batch, S image side, p patch side, T = (S/p)² + 1 tokens, C hidden size.

/// The sizes of a ViT (`ViTConfig`), with its defaults (ViT-B/16 at 224).
public struct ViTConfig: Sendable, Equatable {
    public var tower: TransformerConfig
    public var imageSize: Int
    public var patchSize: Int
    public var channels: Int

    /// Reads a `ViTConfig` (defaults: ViT-B/16 at 224, LayerNorm eps 1e-12) or, with `blip`, a `BlipVisionConfig`
    /// (ViT-B/16 at 384, eps 1e-5).
    public init(json: JSONConfig, blip: Bool = false) throws {
        tower = try TransformerConfig(json: json, hidden: 768, intermediate: 3072, layers: 12, heads: 12, activation: "gelu",
                                      layerNormEps: blip ? 1e-5 : 1e-12)
        imageSize = try json.int("image_size", default: blip ? 384 : 224)
        patchSize = try json.int("patch_size", default: 16)
        channels = try json.int("num_channels", default: 3)
        guard (1...64).contains(channels) else {
            throw ConfigError.invalidValue(path: json.path, key: "num_channels", reason: "\(channels) is outside 1...64")
        }
        guard patchSize > 0, imageSize > 0, imageSize <= 1 << 14, imageSize % patchSize == 0 else {
            throw ConfigError.invalidValue(path: json.path, key: "image_size", reason: "\(imageSize) is not a positive multiple of patch_size \(patchSize)")
        }
    }

    public var tokens: Int { (imageSize / patchSize) * (imageSize / patchSize) + 1 }
}

extension TransformerLayerNames {
    public static let vit = TransformerLayerNames(
        query: "attention.attention.query", key: "attention.attention.key", value: "attention.attention.value",
        attentionOutput: "attention.output.dense", norm1: "layernorm_before", norm2: "layernorm_after",
        fc1: "intermediate.dense", fc2: "output.dense")
    public static let blipVision = TransformerLayerNames(
        query: "", key: "", value: "", attentionOutput: "self_attn.projection", norm1: "layer_norm1", norm2: "layer_norm2",
        fc1: "mlp.fc1", fc2: "mlp.fc2", fusedQKV: "self_attn.qkv")
}

/// How a family names a ViT's weights (relative to the vision model's prefix).
public struct ViTNames: Sendable {
    public var classToken, positions, patchProjection, layerPrefix, finalNorm: String
    public var layer: TransformerLayerNames

    /// transformers' `ViTModel`.
    public static let vit = ViTNames(classToken: "embeddings.cls_token", positions: "embeddings.position_embeddings",
                                     patchProjection: "embeddings.patch_embeddings.projection", layerPrefix: "encoder.layer.",
                                     finalNorm: "layernorm", layer: .vit)
    /// `BlipVisionModel`: fused q/k/v, and a post-LayerNorm applied to every token.
    public static let blip = ViTNames(classToken: "embeddings.class_embedding", positions: "embeddings.position_embedding",
                                      patchProjection: "embeddings.patch_embedding", layerPrefix: "encoder.layers.",
                                      finalNorm: "post_layernorm", layer: .blipVision)
}

/// A ViT image encoder (`ViTModel`, and BLIP's vision model): patch embedding with bias, class token and positions,
/// pre-LayerNorm blocks, a final LayerNorm. Its output is every token's state, which a caption decoder
/// cross-attends to.
public struct ViTEncoder: Sendable {
    public let config: ViTConfig
    let patches: PatchEmbedding
    let encoder: TransformerEncoder
    let finalNorm: LayerNormWeights

    /// Reads `prefix` + the parts `names` names (ViT's pooler, if any, is unused).
    public init(checkpoint: SafetensorsCheckpoint, prefix: String, config: ViTConfig, names: ViTNames = .vit) throws {
        self.config = config
        let C = config.tower.hiddenSize, p = config.patchSize, K = config.channels * p * p
        let conv = try checkpoint.tensor(prefix + names.patchProjection + ".weight", shape: [C, config.channels, p, p])
        patches = PatchEmbedding(
            imageSize: config.imageSize, patchSize: p, channels: config.channels,
            projection: LinearLayer(weight: Tensor(shape: [C, K], buffer: conv.buffer),
                                    bias: try checkpoint.tensor(prefix + names.patchProjection + ".bias", shape: [C])),
            classEmbedding: Tensor(shape: [C], buffer: try checkpoint.tensor(prefix + names.classToken, shape: [1, 1, C]).buffer),
            positionEmbedding: Tensor(shape: [config.tokens, C],
                                      buffer: try checkpoint.tensor(prefix + names.positions, shape: [1, config.tokens, C]).buffer))
        encoder = try TransformerEncoder(checkpoint: checkpoint, layerPrefix: prefix + names.layerPrefix, names: names.layer, config: config.tower,
                                         causal: false, placement: .pre)
        finalNorm = try LayerNormWeights(checkpoint: checkpoint, name: prefix + names.finalNorm, channels: C)
    }

    func prepare(_ precision: Precision) { encoder.prepare(precision); patches.projection.prepare(precision.forSensitiveLayers) }

    /// The last hidden states (B, T, C) of images laid out (B, channels, S, S).
    public func encode(pixels: UnsafePointer<Float>, batch B: Int) -> FloatBuffer {
        let T = config.tokens
        let x = patches.embed(pixels: pixels, batch: B)
        encoder.forward(x.pointer, batch: B, tokens: T)
        finalNorm.apply(x.pointer, x.pointer, rows: B * T, eps: config.tower.layerNormEps)
        return x
    }
}
