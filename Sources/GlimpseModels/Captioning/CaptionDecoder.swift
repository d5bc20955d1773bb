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

/// The keys and values a decoding session keeps, per decoder block: each row's self-attention [k | v] for every
/// position fed so far (rows, capacity, 2C), and each image's cross-attention [k | v] (images, S, 2C), projected once
/// from the encoder states. Row r attends to image r / rowsPerImage.
struct DecoderCache {
    let rows: Int, rowsPerImage: Int, capacity: Int, encoderTokens: Int
    /// 2C: one [k | v] row.
    let width: Int
    private var selfAttention: [FloatBuffer]
    private let crossAttention: [FloatBuffer]

    /// `crossProjections[b]` maps encoder states (E) to block b's [k | v] (2C).
    init(crossProjections: [LinearLayer], hidden C: Int, encoderStates: UnsafePointer<Float>, encoderTokens S: Int, images I: Int,
         rowsPerImage: Int, capacity: Int) {
        rows = I * rowsPerImage; self.rowsPerImage = rowsPerImage; self.capacity = capacity; encoderTokens = S; width = 2 * C
        let size = rows * capacity * width
        selfAttention = crossProjections.map { _ in FloatBuffer(count: size, zeroed: false) }
        crossAttention = crossProjections.map { projection in
            let kv = FloatBuffer(count: I * S * 2 * C, zeroed: false)
            projection.forward(kv.pointer, encoderStates, rows: I * S)
            return kv
        }
    }

    /// Stores each row's [k | v] for `position`, read from `source` rows `stride` floats apart.
    func store(block: Int, position: Int, from source: UnsafePointer<Float>, stride: Int) {
        let cache = selfAttention[block].pointer
        for r in 0..<rows { (cache + (r * capacity + position) * width).update(from: source + r * stride, count: width) }
    }

    /// Row r's cached self-attention keys and values, `width` floats per position.
    func selfKeyValues(block: Int) -> (Int) -> UnsafePointer<Float> {
        let cache = UnsafePointer(selfAttention[block].pointer), rowSize = capacity * width
        return { cache + $0 * rowSize }
    }

    /// The keys and values of row r's image.
    func crossKeyValues(block: Int) -> (Int) -> UnsafePointer<Float> {
        let images = UnsafePointer(crossAttention[block].pointer), perImage = rowsPerImage, imageSize = encoderTokens * width
        return { images + ($0 / perImage) * imageSize }
    }

    /// Row r continues row `sources[r]` (beam search), keeping the first `positions` of each row.
    mutating func reorder(_ sources: [Int], positions: Int) {
        precondition(sources.count == rows, "one source per row")
        guard sources != Array(sources.indices) else { return }
        let rowSize = capacity * width, used = positions * width
        selfAttention = selfAttention.map { old in
            let new = FloatBuffer(count: rows * rowSize, zeroed: false)
            for (r, s) in sources.enumerated() { (new.pointer + r * rowSize).update(from: old.pointer + s * rowSize, count: used) }
            return new
        }
    }
}
