import GlimpseTensor

// Dimension key: R rows (beams), C hidden size, H heads, D = C / H, I inner size, V vocabulary, P positions,
// S encoder tokens.

/// The sizes of a GPT-2 decoder (`GPT2Config`).
public struct GPT2Config: Sendable, Equatable {
    public var hiddenSize = 768, layers = 12, heads = 12, innerSize = 3072, vocabularySize = 50257, maxPositions = 1024
    public var layerNormEps: Float = 1e-5
    public var activation: Activation = .geluTanh
    public var crossAttention = false
    public var headDim: Int { hiddenSize / heads }

    public init() {}

    public init(json: JSONConfig) throws {
        hiddenSize = try json.int("n_embd", default: hiddenSize)
        layers = try json.int("n_layer", default: layers)
        heads = try json.int("n_head", default: heads)
        innerSize = json.has("n_inner") ? try json.int("n_inner", default: 4 * hiddenSize) : 4 * hiddenSize
        vocabularySize = try json.int("vocab_size", default: vocabularySize)
        maxPositions = try json.int("n_positions", default: maxPositions)
        layerNormEps = Float(try json.double("layer_norm_epsilon", default: 1e-5))
        crossAttention = try json.bool("add_cross_attention", default: false)
        let act = try json.string("activation_function", default: "gelu_new")
        guard let activation = Activation(configName: act) else {
            throw ConfigError.invalidValue(path: json.path, key: "activation_function", reason: "\"\(act)\" is not supported (gelu, gelu_new, quick_gelu, relu)")
        }
        self.activation = activation
        for (key, value, range) in [("n_embd", hiddenSize, 1...(1 << 16)), ("n_layer", layers, 0...1024), ("vocab_size", vocabularySize, 1...(1 << 24)),
                                    ("n_positions", maxPositions, 1...(1 << 20)), ("n_inner", innerSize, 1...(1 << 18))] where !range.contains(value) {
            throw ConfigError.invalidValue(path: json.path, key: key, reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        guard heads > 0, hiddenSize % heads == 0 else {
            throw ConfigError.invalidValue(path: json.path, key: "n_head", reason: "\(heads) does not divide n_embd \(hiddenSize)")
        }
        if try json.bool("scale_attn_by_inverse_layer_idx", default: false) || json.bool("reorder_and_upcast_attn", default: false) {
            throw ConfigError.unsupported(path: json.path, reason: "scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported")
        }
    }
}

/// One GPT-2 block: causal self-attention, optional cross-attention to the image, MLP; pre-LayerNorm each.
struct GPT2Block: Sendable {
    let norm1, normCross, norm2: LayerNormWeights
    let qkv: LinearLayer            // (3C, C)
    let attentionOut: LinearLayer   // (C, C)
    let crossQuery: LinearLayer?    // (C, C)
    let crossKeyValue: LinearLayer? // (2C, C)
    let crossOut: LinearLayer?      // (C, C)
    let fc: LinearLayer             // (I, C)
    let proj: LinearLayer           // (C, I)

    init(checkpoint: SafetensorsCheckpoint, prefix p: String, config: GPT2Config) throws {
        let C = config.hiddenSize, I = config.innerSize
        norm1 = try LayerNormWeights(checkpoint: checkpoint, name: p + "ln_1", channels: C)
        norm2 = try LayerNormWeights(checkpoint: checkpoint, name: p + "ln_2", channels: C)
        qkv = try LinearLayer(conv1D: checkpoint, name: p + "attn.c_attn", inFeatures: C, outFeatures: 3 * C)
        attentionOut = try LinearLayer(conv1D: checkpoint, name: p + "attn.c_proj", inFeatures: C, outFeatures: C)
        if config.crossAttention {
            normCross = try LayerNormWeights(checkpoint: checkpoint, name: p + "ln_cross_attn", channels: C)
            crossQuery = try LinearLayer(conv1D: checkpoint, name: p + "crossattention.q_attn", inFeatures: C, outFeatures: C)
            crossKeyValue = try LinearLayer(conv1D: checkpoint, name: p + "crossattention.c_attn", inFeatures: C, outFeatures: 2 * C)
            crossOut = try LinearLayer(conv1D: checkpoint, name: p + "crossattention.c_proj", inFeatures: C, outFeatures: C)
        } else {
            normCross = LayerNormWeights(channels: C); crossQuery = nil; crossKeyValue = nil; crossOut = nil
        }
        fc = try LinearLayer(conv1D: checkpoint, name: p + "mlp.c_fc", inFeatures: C, outFeatures: I)
        proj = try LinearLayer(conv1D: checkpoint, name: p + "mlp.c_proj", inFeatures: I, outFeatures: C)
    }

    var linears: [LinearLayer] { [qkv, attentionOut, fc, proj] + [crossQuery, crossKeyValue, crossOut].compactMap { $0 } }
}

extension LinearLayer {
    /// Reads GPT-2's `Conv1D`, which stores its weight transposed, (in, out), as a linear layer (out, in).
    convenience init(conv1D checkpoint: SafetensorsCheckpoint, name: String, inFeatures: Int, outFeatures: Int) throws {
        let w = try checkpoint.tensor(name + ".weight", shape: [inFeatures, outFeatures])
        let t = FloatBuffer(count: inFeatures * outFeatures, zeroed: false)
        for i in 0..<inFeatures {
            for o in 0..<outFeatures { t.pointer[o * inFeatures + i] = w.pointer[i * outFeatures + o] }
        }
        self.init(weight: Tensor(shape: [outFeatures, inFeatures], buffer: t),
                  bias: try checkpoint.optionalTensor(name + ".bias", shape: [outFeatures]))
    }
}

/// GPT-2 as a caption decoder (`GPT2LMHeadModel` with `add_cross_attention`): token and learned position
/// embeddings, the blocks, a final LayerNorm, and the output projection tied to the token embeddings.
public final class GPT2Decoder: CaptionDecoder, @unchecked Sendable {
    public let config: GPT2Config
    let tokenEmbedding: Tensor      // (V, C)
    let positionEmbedding: Tensor   // (P, C)
    let blocks: [GPT2Block]
    let finalNorm: LayerNormWeights
    let lmHead: LinearLayer         // (V, C), the token embeddings unless the checkpoint has its own

    public var vocabularySize: Int { config.vocabularySize }
    public var maxPositions: Int { config.maxPositions }

    /// Reads `prefix` + `transformer.…` and `lm_head.weight` (e.g. prefix "decoder." in a VisionEncoderDecoderModel).
    public init(checkpoint: SafetensorsCheckpoint, prefix: String, config: GPT2Config) throws {
        guard config.crossAttention else {
            throw ConfigError.unsupported(path: checkpoint.directory + "/config.json", reason: "the GPT-2 decoder has no cross-attention (add_cross_attention is false): it cannot caption images")
        }
        self.config = config
        let C = config.hiddenSize, t = prefix + "transformer."
        tokenEmbedding = try checkpoint.tensor(t + "wte.weight", shape: [config.vocabularySize, C])
        positionEmbedding = try checkpoint.tensor(t + "wpe.weight", shape: [config.maxPositions, C])
        blocks = try (0..<config.layers).map { try GPT2Block(checkpoint: checkpoint, prefix: "\(t)h.\($0).", config: config) }
        finalNorm = try LayerNormWeights(checkpoint: checkpoint, name: t + "ln_f", channels: C)
        if let head = try checkpoint.optionalTensor(prefix + "lm_head.weight", shape: [config.vocabularySize, C]) {
            lmHead = LinearLayer(weight: head, bias: nil)
        } else {
            lmHead = LinearLayer(weight: tokenEmbedding, bias: nil)
        }
    }

    func prepare(_ precision: Precision) {
        for block in blocks { for l in block.linears { l.prepare(precision) } }
        lmHead.prepare(precision.forSensitiveLayers)
    }

    public func session(encoderStates: UnsafePointer<Float>, tokens S: Int, images I: Int, rowsPerImage R: Int, capacity: Int) -> any DecoderSession {
        GPT2Session(decoder: self, encoderStates: encoderStates, encoderTokens: S, images: I, rowsPerImage: R,
                    capacity: min(capacity, config.maxPositions))
    }
}

/// I·R sequences decoded against I images (`DecoderCache` holds their keys and values).
final class GPT2Session: DecoderSession {
    let decoder: GPT2Decoder
    let rows: Int, capacity: Int
    private(set) var length = 0
    private var cache: DecoderCache
    // Step workspaces.
    private let x, normed, qkv, attended, projected, hidden: FloatBuffer

    init(decoder: GPT2Decoder, encoderStates: UnsafePointer<Float>, encoderTokens S: Int, images I: Int, rowsPerImage: Int, capacity: Int) {
        let config = decoder.config, C = config.hiddenSize, R = I * rowsPerImage
        self.decoder = decoder; rows = R; self.capacity = capacity
        cache = DecoderCache(crossProjections: decoder.blocks.map { $0.crossKeyValue! }, hidden: C, encoderStates: encoderStates,
                             encoderTokens: S, images: I, rowsPerImage: rowsPerImage, capacity: capacity)
        x = FloatBuffer(count: R * C, zeroed: false); normed = FloatBuffer(count: R * C, zeroed: false)
        qkv = FloatBuffer(count: R * 3 * C, zeroed: false); attended = FloatBuffer(count: R * C, zeroed: false)
        projected = FloatBuffer(count: R * C, zeroed: false); hidden = FloatBuffer(count: R * config.innerSize, zeroed: false)
    }

    func step(_ tokens: [Int]) -> [Float] {
        let config = decoder.config, C = config.hiddenSize, H = config.heads, D = config.headDim, R = rows, eps = config.layerNormEps
        precondition(tokens.count == R, "one token per row")
        precondition(length < capacity, "the decoder holds \(capacity) positions")
        let position = length
        // x = wte[token] + wpe[position]: (R, C)
        for r in 0..<R {
            let token = min(max(tokens[r], 0), config.vocabularySize - 1)
            let e = decoder.tokenEmbedding.pointer + token * C, p = decoder.positionEmbedding.pointer + position * C
            for c in 0..<C { x.pointer[r * C + c] = e[c] + p[c] }
        }
        let scale = 1 / Float(D).squareRoot()
        for (index, block) in decoder.blocks.enumerated() {
            // Causal self-attention over the cached positions 0...position.
            block.norm1.apply(normed.pointer, x.pointer, rows: R, eps: eps)
            block.qkv.forward(qkv.pointer, normed.pointer, rows: R)
            cache.store(block: index, position: position, from: qkv.pointer + C, stride: 3 * C)
            attendRows(attended.pointer, rows: R, queries: qkv.pointer, queryStride: 3 * C, keyValues: cache.selfKeyValues(block: index),
                       keys: position + 1, heads: H, headDim: D, scale: scale)
            block.attentionOut.forward(projected.pointer, attended.pointer, rows: R)
            addInPlace(x.pointer, projected.pointer, count: R * C)
            // Cross-attention to the image.
            block.normCross.apply(normed.pointer, x.pointer, rows: R, eps: eps)
            block.crossQuery!.forward(qkv.pointer, normed.pointer, rows: R)
            attendRows(attended.pointer, rows: R, queries: qkv.pointer, queryStride: C, keyValues: cache.crossKeyValues(block: index),
                       keys: cache.encoderTokens, heads: H, headDim: D, scale: scale)
            block.crossOut!.forward(projected.pointer, attended.pointer, rows: R)
            addInPlace(x.pointer, projected.pointer, count: R * C)
            // MLP.
            block.norm2.apply(normed.pointer, x.pointer, rows: R, eps: eps)
            block.fc.forward(hidden.pointer, normed.pointer, rows: R)
            config.activation.apply(hidden.pointer, count: R * config.innerSize)
            block.proj.forward(projected.pointer, hidden.pointer, rows: R)
            addInPlace(x.pointer, projected.pointer, count: R * C)
        }
        decoder.finalNorm.apply(normed.pointer, x.pointer, rows: R, eps: eps)
        let logits = FloatBuffer(count: R * config.vocabularySize, zeroed: false)
        decoder.lmHead.forward(logits.pointer, normed.pointer, rows: R)
        length += 1
        return logits.array
    }

    func reorder(_ sources: [Int]) { cache.reorder(sources, positions: length) }
}
