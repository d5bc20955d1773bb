import GlimpseTensor

// Dimension key: B batch, T tokens, C hidden size, I intermediate size, H heads, D = C / H head size.

/// One pre-LayerNorm transformer block of CLIP:
///   x = x + out_proj(attention(layer_norm1(x)))
///   x = x + fc2(act(fc1(layer_norm2(x))))
public struct CLIPEncoderLayer: Sendable {
    let layerNorm1Weight: Tensor, layerNorm1Bias: Tensor   // (C)
    let qkv: LinearLayer                                  // (3C, C): q, k and v projections fused
    let outProj: LinearLayer                              // (C, C)
    let layerNorm2Weight: Tensor, layerNorm2Bias: Tensor   // (C)
    let fc1: LinearLayer                                  // (I, C)
    let fc2: LinearLayer                                  // (C, I)

    init(checkpoint: SafetensorsCheckpoint, prefix p: String, config: CLIPTowerConfig) throws {
        let C = config.hiddenSize, I = config.intermediateSize
        layerNorm1Weight = try checkpoint.tensor(p + "layer_norm1.weight", shape: [C])
        layerNorm1Bias = try checkpoint.tensor(p + "layer_norm1.bias", shape: [C])
        layerNorm2Weight = try checkpoint.tensor(p + "layer_norm2.weight", shape: [C])
        layerNorm2Bias = try checkpoint.tensor(p + "layer_norm2.bias", shape: [C])
        // Fuse q, k, v into one (3C, C) product: one large GEMM is faster than three.
        let qkvWeight = FloatBuffer(count: 3 * C * C, zeroed: false)
        let qkvBias = FloatBuffer(count: 3 * C)
        for (i, name) in ["q_proj", "k_proj", "v_proj"].enumerated() {
            let w = try checkpoint.tensor(p + "self_attn.\(name).weight", shape: [C, C])
            (qkvWeight.pointer + i * C * C).update(from: w.pointer, count: C * C)
            if let b = try checkpoint.optionalTensor(p + "self_attn.\(name).bias", shape: [C]) {
                (qkvBias.pointer + i * C).update(from: b.pointer, count: C)
            }
        }
        qkv = LinearLayer(weight: Tensor(shape: [3 * C, C], buffer: qkvWeight), bias: Tensor(shape: [3 * C], buffer: qkvBias))
        outProj = LinearLayer(weight: try checkpoint.tensor(p + "self_attn.out_proj.weight", shape: [C, C]),
                              bias: try checkpoint.optionalTensor(p + "self_attn.out_proj.bias", shape: [C]))
        fc1 = LinearLayer(weight: try checkpoint.tensor(p + "mlp.fc1.weight", shape: [I, C]),
                          bias: try checkpoint.optionalTensor(p + "mlp.fc1.bias", shape: [I]))
        fc2 = LinearLayer(weight: try checkpoint.tensor(p + "mlp.fc2.weight", shape: [C, I]),
                          bias: try checkpoint.optionalTensor(p + "mlp.fc2.bias", shape: [C]))
    }

    init(random config: CLIPTowerConfig, generator: inout SeededGenerator) {
        let C = config.hiddenSize, I = config.intermediateSize
        func vector(_ n: Int, _ center: Float) -> Tensor { Tensor(shape: [n], values: (0..<n).map { _ in center + generator.normal() * 0.02 }) }
        func matrix(_ r: Int, _ c: Int) -> Tensor { Tensor(shape: [r, c], values: (0..<(r * c)).map { _ in generator.normal() * 0.02 }) }
        layerNorm1Weight = vector(C, 1); layerNorm1Bias = vector(C, 0)
        layerNorm2Weight = vector(C, 1); layerNorm2Bias = vector(C, 0)
        qkv = LinearLayer(weight: matrix(3 * C, C), bias: vector(3 * C, 0))
        outProj = LinearLayer(weight: matrix(C, C), bias: vector(C, 0))
        fc1 = LinearLayer(weight: matrix(I, C), bias: vector(I, 0))
        fc2 = LinearLayer(weight: matrix(C, I), bias: vector(C, 0))
    }

    var linears: [LinearLayer] { [qkv, outProj, fc1, fc2] }
}

/// The stack of encoder layers shared by both towers, with the workspace one forward pass needs.
public struct CLIPEncoder: Sendable {
    public let config: CLIPTowerConfig
    let layers: [CLIPEncoderLayer]
    let causal: Bool

    init(layers: [CLIPEncoderLayer], config: CLIPTowerConfig, causal: Bool) {
        self.layers = layers; self.config = config; self.causal = causal
    }

    func prepare(_ precision: Precision) { for layer in layers { for l in layer.linears { l.prepare(precision) } } }

    /// x is (B, T, C), updated in place. With `firstTokenOnly`, the last layer updates only each sequence's first
    /// token (all a ViT pools), skipping ~6% of the work; the other rows of x are then stale.
    func forward(_ x: UnsafeMutablePointer<Float>, batch B: Int, tokens T: Int, firstTokenOnly: Bool = false) {
        let C = config.hiddenSize, I = config.intermediateSize, N = B * T
        let normed = FloatBuffer(count: N * C, zeroed: false)     // (N, C)
        let qkv = FloatBuffer(count: N * 3 * C, zeroed: false)    // (N, 3C)
        let attended = FloatBuffer(count: N * C, zeroed: false)   // (N, C)
        let hidden = FloatBuffer(count: N * I, zeroed: false)     // (N, I)
        for (index, layer) in layers.enumerated() {
            if firstTokenOnly && index == layers.count - 1 {
                lastLayerFirstToken(layer, x, batch: B, tokens: T, normed: normed, qkv: qkv, attended: attended, hidden: hidden)
                break
            }
            // Attention block.
            layerNorm(normed.pointer, x, weight: layer.layerNorm1Weight.pointer, bias: layer.layerNorm1Bias.pointer,
                      rows: N, channels: C, eps: config.layerNormEps)
            layer.qkv.forward(qkv.pointer, normed.pointer, rows: N)
            attention(attended.pointer, qkv.pointer, batch: B, tokens: T, heads: config.heads, headDim: config.headDim, causal: causal)
            layer.outProj.forward(normed.pointer, attended.pointer, rows: N)
            addInPlace(x, normed.pointer, count: N * C)
            // MLP block.
            layerNorm(normed.pointer, x, weight: layer.layerNorm2Weight.pointer, bias: layer.layerNorm2Bias.pointer,
                      rows: N, channels: C, eps: config.layerNormEps)
            layer.fc1.forward(hidden.pointer, normed.pointer, rows: N)
            config.activation.apply(hidden.pointer, count: N * I)
            layer.fc2.forward(normed.pointer, hidden.pointer, rows: N)
            addInPlace(x, normed.pointer, count: N * C)
        }
    }

    /// The last layer for the first token of each sequence: keys and values need every token, the rest only B rows.
    private func lastLayerFirstToken(_ layer: CLIPEncoderLayer, _ x: UnsafeMutablePointer<Float>, batch B: Int, tokens T: Int,
                                     normed: FloatBuffer, qkv: FloatBuffer, attended: FloatBuffer, hidden: FloatBuffer) {
        let C = config.hiddenSize, N = B * T
        layerNorm(normed.pointer, x, weight: layer.layerNorm1Weight.pointer, bias: layer.layerNorm1Bias.pointer,
                  rows: N, channels: C, eps: config.layerNormEps)
        layer.qkv.forward(qkv.pointer, normed.pointer, rows: N)
        attentionFirstToken(attended.pointer, qkv.pointer, batch: B, tokens: T, heads: config.heads, headDim: config.headDim)
        // Gather the first tokens: first (B, C).
        let first = FloatBuffer(count: B * C, zeroed: false)
        for b in 0..<B { (first.pointer + b * C).update(from: x + b * T * C, count: C) }
        layer.outProj.forward(normed.pointer, attended.pointer, rows: B)
        addInPlace(first.pointer, normed.pointer, count: B * C)
        layerNorm(normed.pointer, first.pointer, weight: layer.layerNorm2Weight.pointer, bias: layer.layerNorm2Bias.pointer,
                  rows: B, channels: C, eps: config.layerNormEps)
        layer.fc1.forward(hidden.pointer, normed.pointer, rows: B)
        config.activation.apply(hidden.pointer, count: B * config.intermediateSize)
        layer.fc2.forward(normed.pointer, hidden.pointer, rows: B)
        addInPlace(first.pointer, normed.pointer, count: B * C)
        for b in 0..<B { (x + b * T * C).update(from: first.pointer + b * C, count: C) }
    }
}
