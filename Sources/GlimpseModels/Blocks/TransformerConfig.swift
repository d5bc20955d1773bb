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
