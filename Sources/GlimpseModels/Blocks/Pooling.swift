import Foundation
import GlimpseTensor

// Dimension key: B batch, T tokens, C hidden size.

/// How a sequence of hidden states becomes one vector (sentence-transformers' `Pooling` modes). Several modes
/// concatenate, in sentence-transformers' order: cls, max, mean, mean-sqrt-length, last token.
public enum PoolingMode: String, Sendable, CaseIterable {
    case cls = "cls_token"
    case max = "max_tokens"
    case mean = "mean_tokens"
    case meanSqrtLength = "mean_sqrt_len_tokens"
    case lastToken = "lasttoken"
}

/// Pools hidden states (B, T, C) of right-padded sequences with `lengths` real tokens into (B, C · modes).
public func pool(_ states: UnsafePointer<Float>, batch B: Int, tokens T: Int, channels C: Int, lengths: [Int],
                 modes: [PoolingMode]) -> [[Float]] {
    (0..<B).map { b in
        let seq = states + b * T * C
        let L = max(1, min(lengths[b], T))
        var out: [Float] = []
        out.reserveCapacity(C * modes.count)
        for mode in modes {
            switch mode {
            case .cls:
                out += UnsafeBufferPointer(start: seq, count: C)
            case .lastToken:
                out += UnsafeBufferPointer(start: seq + (L - 1) * C, count: C)
            case .max:
                var m = [Float](repeating: -.infinity, count: C)
                for t in 0..<L { for c in 0..<C { m[c] = Swift.max(m[c], seq[t * C + c]) } }
                out += m
            case .mean, .meanSqrtLength:
                var s = [Float](repeating: 0, count: C)
                for t in 0..<L { for c in 0..<C { s[c] += seq[t * C + c] } }
                let divisor = mode == .mean ? Float(L) : Float(L).squareRoot()
                out += s.map { $0 / divisor }
            }
        }
        return out
    }
}
