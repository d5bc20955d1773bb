import GlimpseTensor

// Dimension key: B batch, S image side, p patch side, N = (S/p)² patches, T tokens (N + 1 with a class token, else N),
// C hidden size, K = channels·p·p.

/// A ViT's input: the image cut into p×p patches, each projected to C (a stride-p convolution, as one GEMM over
/// im2col rows), a class token in front (CLIP, ViT; SigLIP has none), and learned position embeddings added.
struct PatchEmbedding: Sendable {
    let imageSize: Int, patchSize: Int, channels: Int
    let projection: LinearLayer      // (C, K): the convolution kernel flattened as (c, y, x), with its bias if any
    let classEmbedding: Tensor?      // (C)
    let positionEmbedding: Tensor    // (T, C)

    var patchesPerSide: Int { imageSize / patchSize }
    var tokens: Int { patchesPerSide * patchesPerSide + (classEmbedding == nil ? 0 : 1) }

    /// (B, T, C) tokens of a batch of images laid out (B, channels, S, S).
    func embed(pixels: UnsafePointer<Float>, batch B: Int) -> FloatBuffer {
        let C = projection.outFeatures, S = imageSize, p = patchSize, side = patchesPerSide, N = side * side, T = tokens
        let first = T - N   // 1 with a class token
        let K = channels * p * p
        // im2col: each patch becomes one row (c, y, x) so that the convolution is one GEMM.
        let patches = FloatBuffer(count: B * N * K, zeroed: false)     // (B·N, K)
        parallelChunks(B * N, minimumPerChunk: 64) { range in
            for bn in range {
                let b = bn / N, n = bn % N, py = n / side, px = n % side
                var dst = patches.pointer + bn * K
                for c in 0..<channels {
                    let plane = pixels + (b * channels + c) * S * S
                    for y in 0..<p {
                        dst.update(from: plane + (py * p + y) * S + px * p, count: p)
                        dst += p
                    }
                }
            }
        }
        let embedded = FloatBuffer(count: B * N * C, zeroed: false)   // (B·N, C)
        projection.forward(embedded.pointer, patches.pointer, rows: B * N)
        let x = FloatBuffer(count: B * T * C, zeroed: false)          // (B, T, C)
        for b in 0..<B {
            for t in 0..<T {
                let row = x.pointer + (b * T + t) * C
                let pos = positionEmbedding.pointer + t * C
                let src = t < first ? UnsafePointer(classEmbedding!.pointer) : UnsafePointer(embedded.pointer + (b * N + t - first) * C)
                for c in 0..<C { row[c] = src[c] + pos[c] }
            }
        }
        return x
    }
}
