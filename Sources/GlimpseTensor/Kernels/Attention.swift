import CGlimpseKernels
import COpenBLAS

/// Multi-head scaled dot-product attention over a fused QKV projection.
/// qkv is (B, T, 3C) holding [q | k | v] per position, out is (B, T, C), C = heads · headDim.
/// With `causal`, position t attends to positions 0...t only (the CLIP text tower).
/// `keyLengths` is the key-padding mask of a right-padded batch: sequence b attends to its first
/// `keyLengths[b]` positions only, so padding never changes a real token (rows past the length are computed
/// but meaningless).
public func attention(_ out: UnsafeMutablePointer<Float>, _ qkv: UnsafePointer<Float>,
                      batch B: Int, tokens T: Int, heads H: Int, headDim D: Int, causal: Bool, keyLengths: [Int]? = nil) {
    let C = H * D
    precondition(keyLengths == nil || keyLengths!.count == B, "one key length per sequence")
    let scale = 1 / Float(D).squareRoot()
    if !causal, T >= gemmAttentionTokens {
        attentionByGEMM(out, qkv, batch: B, tokens: T, heads: H, headDim: D, scale: scale, keyLengths: keyLengths)
        return
    }
    parallelChunks(B * H, minimumPerChunk: T < 16 ? 64 : 1) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: T)
        defer { scores.deallocate() }
        for bh in range {
            let b = bh / H, h = bh % H
            let q = qkv + b * T * 3 * C + h * D
            let keys = keyLengths.map { min(max($0[b], 1), T) } ?? T
            glimpse_attention_head(out + b * T * C + h * D, C, q, q + C, q + 2 * C, 3 * C, keys, T, D, scale, causal ? 1 : 0, scores)
        }
    }
}

/// From this many tokens on, a bidirectional head's attention runs as two single-threaded GEMMs (scores = Q·Kᵀ, then
/// softmax, then scores·V) per (sequence, head): a ViT-B/16's 196 tokens spend 4% of the FLOPs in attention but a
/// fifth of int8 time in the per-query kernel, which reads every key once per query.
let gemmAttentionTokens = 32

private func attentionByGEMM(_ out: UnsafeMutablePointer<Float>, _ qkv: UnsafePointer<Float>, batch B: Int, tokens T: Int,
                             heads H: Int, headDim D: Int, scale: Float, keyLengths: [Int]?) {
    let C = H * D
    _ = openBLASSingleThreaded
    parallelChunks(B * H, minimumPerChunk: 1) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: T * T)   // (T, keys)
        defer { scores.deallocate() }
        for bh in range {
            let b = bh / H, h = bh % H
            let keys = keyLengths.map { min(max($0[b], 1), T) } ?? T
            let q = qkv + b * T * 3 * C + h * D, k = q + C, v = q + 2 * C
            let o = out + b * T * C + h * D
            if glimpse_sgemm(CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "T")), T, keys, D, scale, q, 3 * C, k, 3 * C, 0, scores, keys) != 0 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(T), Int32(keys), Int32(D), scale, q, Int32(3 * C), k, Int32(3 * C),
                            0, scores, Int32(keys))
            }
            glimpse_softmax_rows(scores, T, keys)
            if glimpse_sgemm(CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "N")), T, D, keys, 1, scores, keys, v, 3 * C, 0, o, C) != 0 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(T), Int32(D), Int32(keys), 1, scores, Int32(keys), v, Int32(3 * C),
                            0, o, Int32(C))
            }
        }
    }
}

/// Attention output of one token of each sequence only, at position `token` (a ViT's class token, or the last
/// token SigLIP's text tower pools, in the last layer, where nothing else is used); it attends to every position.
/// qkv is (B, T, 3C), out is (B, C).
public func attentionOneToken(_ out: UnsafeMutablePointer<Float>, _ qkv: UnsafePointer<Float>, token: Int,
                              batch B: Int, tokens T: Int, heads H: Int, headDim D: Int) {
    let C = H * D
    let scale = 1 / Float(D).squareRoot()
    parallelChunks(B * H, minimumPerChunk: 64) { range in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: T)
        defer { scores.deallocate() }
        for bh in range {
            let b = bh / H, h = bh % H
            let sequence = qkv + b * T * 3 * C + h * D
            glimpse_attention_head(out + b * C + h * D, C, sequence + token * 3 * C, sequence + C, sequence + 2 * C, 3 * C, T, 1, D, scale, 0, scores)
        }
    }
}

/// Attention of one query row for one head over `count` key and value rows `stride` floats apart (a decoder step
/// against its cache). out, query are (D); scores is scratch space for `count` values.
public func attentionHead(_ out: UnsafeMutablePointer<Float>, query: UnsafePointer<Float>, keys: UnsafePointer<Float>,
                          values: UnsafePointer<Float>, stride: Int, count: Int, headDim D: Int, scale: Float,
                          scores: UnsafeMutablePointer<Float>) {
    glimpse_attention_head(out, D, query, keys, values, stride, count, 1, D, scale, 0, scores)
}
