import Foundation

/// An image's caption and the sentence embedding it is searched by. `contentHash` is the content the caption was
/// written for: when a file changes, its caption no longer matches and the next captioning run writes a new one,
/// while a move (same content) keeps it.
public struct ImageCaption: Sendable, Equatable {
    public var imageId: Int64
    public var contentHash: String
    public var text: String
    /// L2-normalised sentence embedding of `text`.
    public var embedding: [Float]

    public init(imageId: Int64, contentHash: String, text: String, embedding: [Float]) {
        self.imageId = imageId; self.contentHash = contentHash; self.text = text; self.embedding = embedding
    }
}

/// An image that has no caption for its current content.
public struct CaptionTarget: Sendable, Equatable {
    public var id: Int64
    public var path: String
    public var contentHash: String
    public init(id: Int64, path: String, contentHash: String) { self.id = id; self.path = path; self.contentHash = contentHash }
}

/// The models a store's captions were made with: the captioning model, and the sentence encoder whose embeddings
/// caption queries must use (fingerprinted, like the image model, so that two encoders' vectors never mix).
public struct CaptionBinding: Codable, Sendable, Equatable {
    public var captionModel: String
    public var sentenceModel: String
    public var sentenceFingerprint: String
    public var dimension: Int

    public init(captionModel: String, sentenceModel: String, sentenceFingerprint: String, dimension: Int) {
        self.captionModel = captionModel; self.sentenceModel = sentenceModel
        self.sentenceFingerprint = sentenceFingerprint; self.dimension = dimension
    }
}
