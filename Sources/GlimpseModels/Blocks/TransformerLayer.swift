import GlimpseTensor

// Dimension key: B batch, T tokens, C hidden size, I intermediate size, H heads, D = C / H head size.

/// Where a transformer block normalises.
public enum NormPlacement: Sendable {
    /// CLIP, ViT, GPT-2: x = x + attn(LN1(x)); x = x + mlp(LN2(x)).
    case pre
    /// BERT, RoBERTa, DistilBERT: x = LN1(x + attn(x)); x = LN2(x + mlp(x)).
    case post
}

/// The checkpoint names of one block's weights (relative to the block's prefix); every family spells them its way.
public struct TransformerLayerNames: Sendable {
    public var query, key, value, attentionOutput: String
    public var norm1, norm2: String
    public var fc1, fc2: String
    /// One (3C, C) projection holding q, k and v (BLIP's `self_attn.qkv`) instead of three.
    public var fusedQKV: String? = nil

    public static let clip = TransformerLayerNames(
        query: "self_attn.q_proj", key: "self_attn.k_proj", value: "self_attn.v_proj", attentionOutput: "self_attn.out_proj",
        norm1: "layer_norm1", norm2: "layer_norm2", fc1: "mlp.fc1", fc2: "mlp.fc2")
    public static let bert = TransformerLayerNames(
        query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
        attentionOutput: "attention.output.dense", norm1: "attention.output.LayerNorm", norm2: "output.LayerNorm",
        fc1: "intermediate.dense", fc2: "output.dense")
    public static let distilBERT = TransformerLayerNames(
        query: "attention.q_lin", key: "attention.k_lin", value: "attention.v_lin", attentionOutput: "attention.out_lin",
        norm1: "sa_layer_norm", norm2: "output_layer_norm", fc1: "ffn.lin1", fc2: "ffn.lin2")
}

/// A layer norm's parameters, (C) each.
public struct LayerNormWeights: Sendable {
    public let weight: Tensor, bias: Tensor

    /// Reads `name.weight` / `name.bias`, or the `gamma` / `beta` of older BERT checkpoints.
    public init(checkpoint: SafetensorsCheckpoint, name: String, channels C: Int) throws {
        if !checkpoint.has(name + ".weight"), checkpoint.has(name + ".gamma") {
            weight = try checkpoint.tensor(name + ".gamma", shape: [C]); bias = try checkpoint.tensor(name + ".beta", shape: [C])
        } else {
            weight = try checkpoint.tensor(name + ".weight", shape: [C]); bias = try checkpoint.tensor(name + ".bias", shape: [C])
        }
    }

    public init(channels C: Int) {
        weight = Tensor(shape: [C], values: Array(repeating: 1, count: C)); bias = Tensor(zeros: [C])
    }

    init(weight: Tensor, bias: Tensor) { self.weight = weight; self.bias = bias }

    public func apply(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, eps: Float) {
        layerNorm(out, inp, weight: weight.pointer, bias: bias.pointer, rows: rows, channels: weight.count, eps: eps)
    }
}

/// One transformer encoder block: multi-head self-attention and a two-layer MLP, each with a residual and a layer norm.
public struct TransformerLayer: Sendable {
    let norm1: LayerNormWeights      // before attention (pre) or after its residual (post)
    let qkv: LinearLayer             // (3C, C): q, k and v projections fused
    let outProj: LinearLayer         // (C, C)
    let norm2: LayerNormWeights
    let fc1: LinearLayer             // (I, C)
    let fc2: LinearLayer             // (C, I)

    public init(checkpoint: SafetensorsCheckpoint, prefix p: String, names n: TransformerLayerNames, config: TransformerConfig) throws {
        let C = config.hiddenSize, I = config.intermediateSize
        norm1 = try LayerNormWeights(checkpoint: checkpoint, name: p + n.norm1, channels: C)
        norm2 = try LayerNormWeights(checkpoint: checkpoint, name: p + n.norm2, channels: C)
        if let fused = n.fusedQKV {
            qkv = try LinearLayer(checkpoint: checkpoint, name: p + fused, outFeatures: 3 * C, inFeatures: C)
            outProj = try LinearLayer(checkpoint: checkpoint, name: p + n.attentionOutput, outFeatures: C, inFeatures: C)
            fc1 = try LinearLayer(checkpoint: checkpoint, name: p + n.fc1, outFeatures: I, inFeatures: C)
            fc2 = try LinearLayer(checkpoint: checkpoint, name: p + n.fc2, outFeatures: C, inFeatures: I)
            return
        }
        // Fuse q, k, v into one (3C, C) product: one large GEMM is faster than three.
        let qkvWeight = FloatBuffer(count: 3 * C * C, zeroed: false)
        let qkvBias = FloatBuffer(count: 3 * C)
        for (i, name) in [n.query, n.key, n.value].enumerated() {
            let w = try checkpoint.tensor(p + name + ".weight", shape: [C, C])
            (qkvWeight.pointer + i * C * C).update(from: w.pointer, count: C * C)
            if let b = try checkpoint.optionalTensor(p + name + ".bias", shape: [C]) {
                (qkvBias.pointer + i * C).update(from: b.pointer, count: C)
            }
        }
        qkv = LinearLayer(weight: Tensor(shape: [3 * C, C], buffer: qkvWeight), bias: Tensor(shape: [3 * C], buffer: qkvBias))
        outProj = try LinearLayer(checkpoint: checkpoint, name: p + n.attentionOutput, outFeatures: C, inFeatures: C)
        fc1 = try LinearLayer(checkpoint: checkpoint, name: p + n.fc1, outFeatures: I, inFeatures: C)
        fc2 = try LinearLayer(checkpoint: checkpoint, name: p + n.fc2, outFeatures: C, inFeatures: I)
    }

    public init(random config: TransformerConfig, generator: inout SeededGenerator) {
        let C = config.hiddenSize, I = config.intermediateSize
        func vector(_ n: Int, _ center: Float) -> Tensor { Tensor(shape: [n], values: (0..<n).map { _ in center + generator.normal() * 0.02 }) }
        func matrix(_ r: Int, _ c: Int) -> Tensor { Tensor(shape: [r, c], values: (0..<(r * c)).map { _ in generator.normal() * 0.02 }) }
        norm1 = LayerNormWeights(weight: vector(C, 1), bias: vector(C, 0))
        norm2 = LayerNormWeights(weight: vector(C, 1), bias: vector(C, 0))
        qkv = LinearLayer(weight: matrix(3 * C, C), bias: vector(3 * C, 0))
        outProj = LinearLayer(weight: matrix(C, C), bias: vector(C, 0))
        fc1 = LinearLayer(weight: matrix(I, C), bias: vector(I, 0))
        fc2 = LinearLayer(weight: matrix(C, I), bias: vector(C, 0))
    }

    var linears: [LinearLayer] { [qkv, outProj, fc1, fc2] }
}

extension LinearLayer {
    /// Reads `name.weight` (OC, C) and the optional `name.bias` (OC).
    public convenience init(checkpoint: SafetensorsCheckpoint, name: String, outFeatures: Int, inFeatures: Int) throws {
        self.init(weight: try checkpoint.tensor(name + ".weight", shape: [outFeatures, inFeatures]),
                  bias: try checkpoint.optionalTensor(name + ".bias", shape: [outFeatures]))
    }
}
