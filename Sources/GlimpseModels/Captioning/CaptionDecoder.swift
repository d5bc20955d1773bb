import GlimpseTensor

// Dimension key: I images, R rows per image (beams), V vocabulary size, S encoder tokens, E encoder hidden size.

/// A text decoder that attends to an encoded image (GPT-2 with cross-attention in `nlpconnect/vit-gpt2`; BLIP's
/// BERT decoder has the same shape). Generation only sees this and `DecoderSession`.
public protocol CaptionDecoder: AnyObject, Sendable {
    var vocabularySize: Int { get }
    /// The longest sequence the position embeddings cover.
    var maxPositions: Int { get }
    /// Starts I·R sequences against the encoder states (I, S, E) of I images — rows i·R ..< (i+1)·R attend to
    /// image i — with room for `capacity` tokens each.
    func session(encoderStates: UnsafePointer<Float>, tokens S: Int, images I: Int, rowsPerImage R: Int, capacity: Int) -> any DecoderSession
}

/// The running state of sequences decoded together: the cached self-attention keys and values of every token fed
/// so far, and the images' cross-attention keys and values, computed once.
public protocol DecoderSession: AnyObject {
    /// Tokens fed so far to each row.
    var length: Int { get }
    /// Feeds one token per row (I·R of them) at position `length`; returns the next-token logits (I·R, V).
    func step(_ tokens: [Int]) -> [Float]
    /// Row r continues the sequence of row `sources[r]` (beam search keeping some beams and dropping others).
    func reorder(_ sources: [Int])
}

/// out (R, C) = softmax(q·kᵀ·scale)·v for each row and head, C = H·D. Row r's query is `queries + r·queryStride`;
/// its keys and values are `keys` rows of [k | v] (2C floats each) at `keyValues(r)`: the row's own cache for
/// self-attention, its image's states for cross-attention.
func attendRows(_ out: UnsafeMutablePointer<Float>, rows R: Int, queries: UnsafePointer<Float>, queryStride: Int,
                keyValues: (Int) -> UnsafePointer<Float>, keys: Int, heads H: Int, headDim D: Int, scale: Float) {
    let C = H * D
    withoutActuallyEscaping(keyValues) { keyValues in
        let source = UncheckedSendable(keyValues), target = UncheckedSendable(out), query = UncheckedSendable(queries)
        parallelChunks(R * H, minimumPerChunk: max(1, 4096 / max(keys * D, 1))) { range in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: keys)
            defer { scores.deallocate() }
            for rh in range {
                let r = rh / H, h = rh % H
                let kv = source.value(r)
                attentionHead(target.value + r * C + h * D, query: query.value + r * queryStride + h * D, keys: kv + h * D,
                              values: kv + C + h * D, stride: 2 * C, count: keys, headDim: D, scale: scale, scores: scores)
            }
        }
    }
}

/// A key/value cache after beam reordering: row r of the result is row `sources[r]` of `cache` (each row `rowSize`
/// floats, the first `used` of them filled).
func reorderCache(_ cache: [FloatBuffer], sources: [Int], rowSize: Int, used: Int) -> [FloatBuffer] {
    guard sources != Array(sources.indices) else { return cache }
    return cache.map { old in
        let new = FloatBuffer(count: sources.count * rowSize, zeroed: false)
        for (r, s) in sources.enumerated() { (new.pointer + r * rowSize).update(from: old.pointer + s * rowSize, count: used) }
        return new
    }
}
