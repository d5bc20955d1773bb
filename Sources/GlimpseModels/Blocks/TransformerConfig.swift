import GlimpseTensor

/// The sizes of one transformer stack as a config.json describes it.
public struct TransformerConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var layerNormEps: Float
    public var activation: Activation
    public var headDim: Int { hiddenSize / heads }

    public init(hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int, layerNormEps: Float, activation: Activation) {
        self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize; self.layers = layers
        self.heads = heads; self.layerNormEps = layerNormEps; self.activation = activation
    }
}

extension TransformerConfig {
    /// Reads the Hugging Face keys every BERT-style config shares (`hidden_size`, `intermediate_size`,
    /// `num_hidden_layers`, `num_attention_heads`, `hidden_act`, `layer_norm_eps`), with the family's defaults.
    public init(json: JSONConfig, hidden: Int, intermediate: Int, layers: Int, heads: Int, activation defaultActivation: String,
                layerNormEps defaultEps: Double) throws {
        let act = try json.string("hidden_act", default: defaultActivation)
        guard let activation = Activation(configName: act) else {
            throw ConfigError.invalidValue(path: json.path, key: "hidden_act", reason: "\"\(act)\" is not supported (gelu, quick_gelu, gelu_new, gelu_pytorch_tanh, relu)")
        }
        self.init(hiddenSize: try json.int("hidden_size", default: hidden),
                  intermediateSize: try json.int("intermediate_size", default: intermediate),
                  layers: try json.int("num_hidden_layers", default: layers),
                  heads: try json.int("num_attention_heads", default: heads),
                  layerNormEps: Float(try json.double("layer_norm_eps", default: defaultEps)),
                  activation: activation)
        for (key, value, range) in [("hidden_size", hiddenSize, 1...(1 << 16)), ("intermediate_size", intermediateSize, 1...(1 << 18)),
                                    ("num_hidden_layers", self.layers, 0...1024)] where !range.contains(value) {
            throw ConfigError.invalidValue(path: json.path, key: key, reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        guard self.heads > 0, hiddenSize % self.heads == 0 else {
            throw ConfigError.invalidValue(path: json.path, key: "num_attention_heads", reason: "\(self.heads) does not divide hidden_size \(hiddenSize)")
        }
    }
}
