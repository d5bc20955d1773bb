import CGlimpseKernels

/// The hidden activations Hugging Face configs name in `hidden_act`.
public enum Activation: String, Sendable, CaseIterable {
    /// Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
    case gelu
    /// OpenAI CLIP's approximation: x·σ(1.702·x).
    case quickGelu = "quick_gelu"
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    case geluTanh = "gelu_new"
    case relu

    public init?(configName: String) {
        switch configName {
        case "gelu": self = .gelu
        case "quick_gelu": self = .quickGelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        default: return nil
        }
    }

    var kind: Int32 {
        switch self {
        case .gelu: Int32(GLIMPSE_GELU.rawValue)
        case .quickGelu: Int32(GLIMPSE_QUICK_GELU.rawValue)
        case .geluTanh: Int32(GLIMPSE_GELU_TANH.rawValue)
        case .relu: Int32(GLIMPSE_RELU.rawValue)
        }
    }

    /// Applies the activation in place to `count` values, on all cores.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        let kind = self.kind
        parallelChunks(count, minimumPerChunk: 65536) { range in
            glimpse_activation(x + range.lowerBound, range.count, kind)
        }
    }
}
