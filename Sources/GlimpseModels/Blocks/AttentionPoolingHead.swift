import GlimpseTensor

// Dimension key: B batch, T tokens, C hidden size, H heads, D = C / H head size, I MLP size.

/// Multi-head attention pooling (SigLIP's vision head, "MAP"): one learned probe attends over every token
/// (torch.nn.MultiheadAttention with the probe as the query), then a pre-norm MLP with a residual:
/// pooled = attn(probe, x, x); out = pooled + MLP(LN(pooled)).
struct AttentionPoolingHead: Sendable {
    let probe: Tensor                // (C)
    let query: LinearLayer           // (C, C): in_proj rows 0..<C
    let keyValue: LinearLayer        // (2C, C): in_proj rows C..<3C, keys then values
    let outProj: LinearLayer         // (C, C)
    let norm: LayerNormWeights
    let fc1: LinearLayer             // (I, C)
    let fc2: LinearLayer             // (C, I)
    let heads: Int
    let activation: Activation
    let eps: Float

    init(checkpoint: SafetensorsCheckpoint, prefix p: String, config: TransformerConfig) throws {
        let C = config.hiddenSize, I = config.intermediateSize
        probe = try checkpoint.tensor(p + "probe", shape: [1, 1, C])
        let inProj = try checkpoint.tensor(p + "attention.in_proj_weight", shape: [3 * C, C])
        let inBias = try checkpoint.tensor(p + "attention.in_proj_bias", shape: [3 * C])
        func rows(_ t: Tensor, from: Int, count: Int, width: Int) -> Tensor {
            Tensor(shape: width == 1 ? [count] : [count, width], values: Array(UnsafeBufferPointer(start: t.pointer + from * width, count: count * width)))
        }
        query = LinearLayer(weight: rows(inProj, from: 0, count: C, width: C), bias: rows(inBias, from: 0, count: C, width: 1))
        keyValue = LinearLayer(weight: rows(inProj, from: C, count: 2 * C, width: C), bias: rows(inBias, from: C, count: 2 * C, width: 1))
        outProj = try LinearLayer(checkpoint: checkpoint, name: p + "attention.out_proj", outFeatures: C, inFeatures: C)
        norm = try LayerNormWeights(checkpoint: checkpoint, name: p + "layernorm", channels: C)
        fc1 = try LinearLayer(checkpoint: checkpoint, name: p + "mlp.fc1", outFeatures: I, inFeatures: C)
        fc2 = try LinearLayer(checkpoint: checkpoint, name: p + "mlp.fc2", outFeatures: C, inFeatures: I)
        heads = config.heads; activation = config.activation; eps = config.layerNormEps
    }

    init(random config: TransformerConfig, generator g: inout SeededGenerator) {
        let C = config.hiddenSize, I = config.intermediateSize
        func matrix(_ r: Int, _ c: Int) -> Tensor { Tensor(shape: [r, c], values: (0..<(r * c)).map { _ in g.normal() * 0.02 }) }
        probe = Tensor(shape: [1, 1, C], values: (0..<C).map { _ in g.normal() })
        query = LinearLayer(weight: matrix(C, C), bias: Tensor(zeros: [C]))
        keyValue = LinearLayer(weight: matrix(2 * C, C), bias: Tensor(zeros: [2 * C]))
        outProj = LinearLayer(weight: matrix(C, C), bias: Tensor(zeros: [C]))
        norm = LayerNormWeights(channels: C)
        fc1 = LinearLayer(weight: matrix(I, C), bias: Tensor(zeros: [I]))
        fc2 = LinearLayer(weight: matrix(C, I), bias: Tensor(zeros: [C]))
        heads = config.heads; activation = config.activation; eps = config.layerNormEps
    }

    /// Keys and values read every token, so they take the tower's precision; the rest runs on B rows.
    func prepare(_ precision: Precision) {
        keyValue.prepare(precision)
        for layer in [query, outProj, fc1, fc2] { layer.prepare(precision.forSensitiveLayers) }
    }

    /// (B, C) pooled vectors of x (B, T, C).
    func pool(_ x: UnsafePointer<Float>, batch B: Int, tokens T: Int) -> FloatBuffer {
        let C = probe.count, H = heads, D = C / H
        let q = FloatBuffer(count: C, zeroed: false)                 // (C): the same query for every image
        query.forward(q.pointer, probe.pointer, rows: 1)
        let kv = FloatBuffer(count: B * T * 2 * C, zeroed: false)    // (B, T, 2C)
        keyValue.forward(kv.pointer, x, rows: B * T)
        let attended = FloatBuffer(count: B * C, zeroed: false)      // (B, C)
        let scale = 1 / Float(D).squareRoot()
        parallelChunks(B * H, minimumPerChunk: 8) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: T)
            defer { scores.deallocate() }
            for bh in range {
                let b = bh / H, h = bh % H
                let keys = kv.pointer + b * T * 2 * C + h * D
                attentionHead(attended.pointer + b * C + h * D, query: q.pointer + h * D, keys: keys, values: keys + C,
                              stride: 2 * C, count: T, headDim: D, scale: scale, scores: scores)
            }
        }
        let pooled = FloatBuffer(count: B * C, zeroed: false)        // (B, C)
        outProj.forward(pooled.pointer, attended.pointer, rows: B)
        let normed = FloatBuffer(count: B * C, zeroed: false)
        norm.apply(normed.pointer, pooled.pointer, rows: B, eps: eps)
        let hidden = FloatBuffer(count: B * fc1.outFeatures, zeroed: false)
        fc1.forward(hidden.pointer, normed.pointer, rows: B, activation: activation)
        fc2.forward(normed.pointer, hidden.pointer, rows: B)
        addInPlace(pooled.pointer, normed.pointer, count: B * C)
        return pooled
    }
}
