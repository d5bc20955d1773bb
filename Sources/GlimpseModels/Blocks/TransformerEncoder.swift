import GlimpseTensor

// Dimension key: B batch, T tokens, C hidden size, I intermediate size, H heads, D = C / H head size.

/// A stack of transformer blocks with the workspace one forward pass needs; shared by every family.
public struct TransformerEncoder: Sendable {
    public let config: TransformerConfig
    let layers: [TransformerLayer]
    let causal: Bool
    let placement: NormPlacement

    public init(layers: [TransformerLayer], config: TransformerConfig, causal: Bool, placement: NormPlacement) {
        self.layers = layers; self.config = config; self.causal = causal; self.placement = placement
    }

    /// Reads blocks `prefix0.` … `prefix{L-1}.` of a checkpoint.
    public init(checkpoint: SafetensorsCheckpoint, layerPrefix: String, names: TransformerLayerNames, config: TransformerConfig,
                causal: Bool, placement: NormPlacement) throws {
        self.init(layers: try (0..<config.layers).map {
            try TransformerLayer(checkpoint: checkpoint, prefix: "\(layerPrefix)\($0).", names: names, config: config)
        }, config: config, causal: causal, placement: placement)
    }

    /// The MLP's output projection reads GELU outputs, whose spread int8 carries worst: on all-MiniLM-L6-v2 it alone
    /// keeps the worst text cosine at 0.9989 instead of 0.9993, so text towers keep it sensitive. An image embedding
    /// averages that error over its patches (photos stay ≥ 0.9999 with it in int8), so vision towers pass false.
    func prepare(_ precision: Precision, mlpOutputIsSensitive: Bool = true) {
        for layer in layers {
            layer.qkv.prepare(precision); layer.outProj.prepare(precision); layer.fc1.prepare(precision)
            layer.fc2.prepare(mlpOutputIsSensitive ? precision.forSensitiveLayers : precision)
        }
    }

    /// The one position a tower reads from the last layer.
    enum PooledToken { case first, last }

    /// x is (B, T, C), updated in place. `keyLengths` masks right padding: sequence b has `keyLengths[b]` real tokens.
    /// With `onlyToken` (pre-norm, no mask), the last layer updates only that token of each sequence (the class token
    /// a ViT pools, the last one SigLIP's text tower pools), skipping ~6% of the work; the other rows of x are then stale.
    func forward(_ x: UnsafeMutablePointer<Float>, batch B: Int, tokens T: Int, keyLengths: [Int]? = nil, onlyToken: PooledToken? = nil) {
        let C = config.hiddenSize, I = config.intermediateSize, N = B * T, eps = config.layerNormEps
        let normed = FloatBuffer(count: N * C, zeroed: false)     // (N, C)
        let qkv = FloatBuffer(count: N * 3 * C, zeroed: false)    // (N, 3C)
        let attended = FloatBuffer(count: N * C, zeroed: false)   // (N, C)
        let hidden = FloatBuffer(count: N * I, zeroed: false)     // (N, I)
        for (index, layer) in layers.enumerated() {
            switch placement {
            case .pre:
                if let onlyToken, keyLengths == nil, index == layers.count - 1 {
                    lastLayerOneToken(layer, x, token: onlyToken == .first ? 0 : T - 1, batch: B, tokens: T,
                                      normed: normed, qkv: qkv, attended: attended, hidden: hidden)
                    return
                }
                layer.norm1.apply(normed.pointer, x, rows: N, eps: eps)
                layer.qkv.forward(qkv.pointer, normed.pointer, rows: N)
                attention(attended.pointer, qkv.pointer, batch: B, tokens: T, heads: config.heads, headDim: config.headDim,
                          causal: causal, keyLengths: keyLengths)
                layer.outProj.forward(normed.pointer, attended.pointer, rows: N)
                addInPlace(x, normed.pointer, count: N * C)
                layer.norm2.apply(normed.pointer, x, rows: N, eps: eps)
                layer.fc1.forward(hidden.pointer, normed.pointer, rows: N, activation: config.activation)
                layer.fc2.forward(normed.pointer, hidden.pointer, rows: N)
                addInPlace(x, normed.pointer, count: N * C)
            case .post:
                layer.qkv.forward(qkv.pointer, x, rows: N)
                attention(attended.pointer, qkv.pointer, batch: B, tokens: T, heads: config.heads, headDim: config.headDim,
                          causal: causal, keyLengths: keyLengths)
                layer.outProj.forward(normed.pointer, attended.pointer, rows: N)
                addInPlace(x, normed.pointer, count: N * C)
                layer.norm1.apply(x, x, rows: N, eps: eps)
                layer.fc1.forward(hidden.pointer, x, rows: N, activation: config.activation)
                layer.fc2.forward(normed.pointer, hidden.pointer, rows: N)
                addInPlace(x, normed.pointer, count: N * C)
                layer.norm2.apply(x, x, rows: N, eps: eps)
            }
        }
    }

    /// The last pre-norm layer for one token of each sequence: keys and values need every token, the rest only B rows.
    private func lastLayerOneToken(_ layer: TransformerLayer, _ x: UnsafeMutablePointer<Float>, token: Int, batch B: Int, tokens T: Int,
                                   normed: FloatBuffer, qkv: FloatBuffer, attended: FloatBuffer, hidden: FloatBuffer) {
        let C = config.hiddenSize, N = B * T, eps = config.layerNormEps
        layer.norm1.apply(normed.pointer, x, rows: N, eps: eps)
        layer.qkv.forward(qkv.pointer, normed.pointer, rows: N)
        attentionOneToken(attended.pointer, qkv.pointer, token: token, batch: B, tokens: T, heads: config.heads, headDim: config.headDim)
        // Gather the pooled tokens: first (B, C).
        let first = FloatBuffer(count: B * C, zeroed: false)
        for b in 0..<B { (first.pointer + b * C).update(from: x + (b * T + token) * C, count: C) }
        layer.outProj.forward(normed.pointer, attended.pointer, rows: B)
        addInPlace(first.pointer, normed.pointer, count: B * C)
        layer.norm2.apply(normed.pointer, first.pointer, rows: B, eps: eps)
        layer.fc1.forward(hidden.pointer, normed.pointer, rows: B, activation: config.activation)
        layer.fc2.forward(normed.pointer, hidden.pointer, rows: B)
        addInPlace(first.pointer, normed.pointer, count: B * C)
        for b in 0..<B { (x + (b * T + token) * C).update(from: first.pointer + b * C, count: C) }
    }
}
