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
