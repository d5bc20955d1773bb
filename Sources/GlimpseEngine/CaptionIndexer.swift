import Foundation
import GlimpseModels
import GlimpseSources
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
    /// Where images fetched from lists and S3 are read again: their originals in the download cache, fetched
    /// once more when the cache no longer holds them (nil: only images that are files here are captioned).
    public var remote: (fetcher: ImageFetcher, cache: DownloadCache)?

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
            let (files, downloads) = try await localFiles(batch)
            let captions = captioner.caption(imagePaths: files.map { (try? $0.get()) ?? "" }, batchSize: batch.count)
            var texts: [String] = [], done: [CaptionTarget] = []
            for (k, (target, result)) in zip(batch, captions).enumerated() {
                if case let .failure(error) = files[k] {
                    summary.failed.append(IndexFailure(path: target.path, error: "\(error)"))
                    continue
                }
                switch result {
                case let .success(caption): texts.append(caption.text); done.append(target)
                case let .failure(error): summary.failed.append(IndexFailure(path: target.path, error: "\(error)"))
                }
            }
            let embeddings = sentences.embed(texts: texts)
            try await store.saveCaptions(zip(done, zip(texts, embeddings)).map { target, caption in
                ImageCaption(imageId: target.id, contentHash: target.contentHash, text: caption.0, embedding: caption.1)
            })
            if let (_, cache) = remote { for url in downloads { cache.release(url) } }
            summary.captioned += done.count
            start += batch.count
            progress?.advanced(done: start, total: targets.count)
        }
        progress?.finished()
        return summary
    }

    /// The file each target's pixels are in: its path, or for an image from a list or S3 its original (cached, or
    /// fetched again).
    /// Also returns the URLs whose originals were read from the cache or fetched (released after the batch unless
    /// the cache keeps originals).
    private func localFiles(_ batch: [CaptionTarget]) async throws -> ([Result<String, Error>], [String]) {
        let records = remote == nil ? [:] : try await store.images(ids: batch.filter { !FileManager.default.fileExists(atPath: $0.path) }.map(\.id))
        var files: [Result<String, Error>] = []
        var downloads: [String] = []
        for target in batch {
            guard let record = records[target.id], let url = record.url, let (fetcher, cache) = remote else {
                files.append(.success(target.path))
                continue
            }
            downloads.append(url)
            if let cached = cache.existing(url) { files.append(.success(cached)); continue }
            do {
                switch try await fetcher.fetch(url, to: cache.path(for: url)) {
                case let .fetched(fetched): files.append(.success(fetched.path))
                case .notModified: files.append(.failure(IndexFailure(path: target.path, error: "\(url): not modified, and no copy is cached")))
                }
            } catch {
                files.append(.failure(IndexFailure(path: target.path, error: "\(url): \(error)")))
            }
        }
        return (files, downloads)
    }
}
