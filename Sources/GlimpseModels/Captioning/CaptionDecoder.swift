import GlimpseTensor

// Dimension key: R rows (beams) decoded together, V vocabulary size, S encoder tokens, E encoder hidden size.

/// A text decoder that attends to an encoded image (GPT-2 with cross-attention in `nlpconnect/vit-gpt2`; BLIP's
/// BERT decoder has the same shape). Generation only sees this and `DecoderSession`.
public protocol CaptionDecoder: AnyObject, Sendable {
    var vocabularySize: Int { get }
    /// The longest sequence the position embeddings cover.
    var maxPositions: Int { get }
    /// Starts `rows` sequences against one image's encoder states (S, E), with room for `capacity` tokens each.
    func session(encoderStates: UnsafePointer<Float>, tokens S: Int, rows R: Int, capacity: Int) -> any DecoderSession
}

/// The running state of R sequences decoded together against one image: the cached self-attention keys and values
/// of every token fed so far, and the image's cross-attention keys and values, computed once.
public protocol DecoderSession: AnyObject {
    /// Tokens fed so far to each row.
    var length: Int { get }
    /// Feeds one token per row (R of them) at position `length`; returns the next-token logits (R, V).
    func step(_ tokens: [Int]) -> [Float]
    /// Row r continues the sequence of row `sources[r]` (beam search keeping some beams and dropping others).
    func reorder(_ sources: [Int])
}
