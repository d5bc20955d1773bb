import CGlimpseKernels

/// Layer normalisation over the last dimension.
/// out, inp are (N, C); weight, bias are (C). `out` may alias `inp`.
public func layerNorm(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>,
                      weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                      rows: Int, channels C: Int, eps: Float) {
    parallelChunks(rows, minimumPerChunk: 64) { range in
        glimpse_layernorm(out + range.lowerBound * C, inp + range.lowerBound * C, weight, bias, range.count, C, eps)
    }
}

/// Scales each row of (N, C) to unit Euclidean length (rows of zeros stay zero).
public func l2NormalizeRows(_ x: UnsafeMutablePointer<Float>, rows: Int, channels C: Int) {
    for r in 0..<rows {
        let row = x + r * C
        var sq: Float = 0
        for i in 0..<C { sq += row[i] * row[i] }
        guard sq > 0 else { continue }
        let s = 1 / sq.squareRoot()
        for i in 0..<C { row[i] *= s }
    }
}

/// out (N, C) += inp (N, C).
public func addInPlace(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { out[i] += inp[i] }
}
