import Foundation
import GlimpseModels
import GlimpseStore

/// What one captioning pass did.
public struct CaptionSummary: Codable, Sendable, Equatable {
    public var captioned = 0
    public var failed: [IndexFailure] = []
    public var interrupted = false
    public init() {}
}

/// Captions the stored images that have no caption for their current content, and embeds each caption with a
/// sentence encoder: the caption search path. Incremental like indexing: a re-run captions only new and changed
/// images (a moved file keeps its caption, since its content hash is the same), and each batch is committed on
/// its own, so an interrupted run keeps what it did.
public final class CaptionIndexer: @unchecked Sendable {
    public let store: any ImageStore
    public let captioner: Captioner
    public let sentences: any TextEncoder
    public var batchSize: Int
    public weak var progress: IndexProgress?
    /// The part of the collection this worker owns (all of it when nil).
    public var shard: Shard?

    public init(store: any ImageStore, captioner: Captioner, sentences: any TextEncoder, batchSize: Int = 8) {
        self.store = store; self.captioner = captioner; self.sentences = sentences; self.batchSize = batchSize
    }

    public func run(shouldStop: @escaping @Sendable () -> Bool = { false }) async throws -> CaptionSummary {
        var targets = try await store.imagesNeedingCaptions()
        if let shard { targets.removeAll { !shard.contains($0.path) } }
        var summary = CaptionSummary()
        progress?.started(total: targets.count)
        var start = 0
        while start < targets.count {
            if shouldStop() { summary.interrupted = true; break }
            let batch = Array(targets[start..<min(start + batchSize, targets.count)])
            let captions = captioner.caption(imagePaths: batch.map(\.path), batchSize: batch.count)
            var texts: [String] = [], done: [CaptionTarget] = []
            for (target, result) in zip(batch, captions) {
                switch result {
                case let .success(caption): texts.append(caption.text); done.append(target)
                case let .failure(error): summary.failed.append(IndexFailure(path: target.path, error: "\(error)"))
                }
            }
            let embeddings = sentences.embed(texts: texts)
            try await store.saveCaptions(zip(done, zip(texts, embeddings)).map { target, caption in
                ImageCaption(imageId: target.id, contentHash: target.contentHash, text: caption.0, embedding: caption.1)
            })
            summary.captioned += done.count
            start += batch.count
            progress?.advanced(done: start, total: targets.count)
        }
        progress?.finished()
        return summary
    }
}
