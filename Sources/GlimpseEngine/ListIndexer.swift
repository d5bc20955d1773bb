import Foundation
import GlimpseImage
import GlimpseSources
import GlimpseStore

/// Brings a store up to date with a remote source (a list of URLs, an S3 prefix):
/// plan (unchanged, metadata-only, changed, new, gone) → fetch a batch in parallel into the download cache →
/// decode and embed it → one transaction → thumbnails from the same bytes → release the downloads. The next batch
/// downloads while this one is embedded.
///
/// Incremental: a row whose id and URL are stored (and, for S3, whose listed ETag is unchanged) is not fetched;
/// if only its metadata changed, that is updated in place. `revalidate` asks the server instead, with the stored
/// validator (`If-None-Match` / `If-Modified-Since`). Rows that left the source leave the store unless
/// `keepRemoved`. Resumable: a killed run loses no committed batch, and its finished but uncommitted downloads are
/// still in the cache, so the next run downloads nothing twice.
public final class ListIndexer: @unchecked Sendable {
    /// nil for a dry run (`dryRun`), which only downloads.
    public let store: (any ImageStore)?
    public let embedder: Embedder?
    private let precisionRecord = PrecisionRecord()
    public let fetcher: ImageFetcher
    public let cache: DownloadCache
    public var batchSize = 32
    /// Downloads in flight at once (each host also limits its own connections).
    public var parallelFetches = 16
    public var keepRemoved = false
    public var revalidate = false
    public var thumbnails: ThumbnailWriter?
    public var shard: Shard?
    public weak var progress: IndexProgress?

    public init(store: (any ImageStore)?, embedder: Embedder?, fetcher: ImageFetcher, cache: DownloadCache) {
        self.store = store
        self.embedder = embedder
        self.fetcher = fetcher
        self.cache = cache
    }

    /// One row to fetch: the item, the stored image it replaces, and the validator to revalidate with.
    struct Work: Sendable {
        var item: RemoteItem
        var replacing: Int64?
        var validator: String?
    }

    enum Obtained: Sendable {
        case file(path: String, format: String, validator: String?, downloaded: Bool)
        case notModified
        case failed(String)
    }

    public func index(_ source: RemoteSource, shouldStop: @escaping @Sendable () -> Bool = { false }) async throws -> IndexSummary {
        var summary = IndexSummary()
        summary.fetched = 0
        summary.failed = source.failures
        var items = source.items
        var stored = try await store?.sourceStates(pathPrefix: source.root) ?? []
        if let shard {
            items.removeAll { !shard.contains($0.key) }
            stored.removeAll { !shard.contains($0.path) }
        }
        if let store { try await store.addCollectionRoots([source.root]) }

        // Plan.
        let byKey = Dictionary(stored.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var work: [Work] = []
        var metadataUpdates: [(id: Int64, metadata: ImageMetadata)] = []
        for item in items {
            guard let state = byKey[item.key] else { work.append(Work(item: item)); continue }
            let sameBytes = state.url == item.url && (item.listedValidator == nil || item.listedValidator == state.validator)
            guard sameBytes else { work.append(Work(item: item, replacing: state.id)); continue }
            // The stored metadata is the row's plus the file's facts: compare (and update) the row's part only.
            let expected = FileMetadata.merge(item.metadata, FileMetadata.facts(of: MetadataJSON.decode(state.metadata)))
            if MetadataJSON.encode(expected) != state.metadata { metadataUpdates.append((state.id, expected)) }
            if revalidate && item.listedValidator == nil && state.validator != nil {
                work.append(Work(item: item, replacing: state.id, validator: state.validator))
            } else {
                summary.unchanged += 1
            }
        }
        if let store {
            try await store.updateMetadata(metadataUpdates)
            summary.metadataUpdated = metadataUpdates.count
            if !keepRemoved {
                let present = Set(items.map(\.key))
                let gone = stored.filter { !present.contains($0.path) }.map(\.id)
                try await store.removeImages(ids: gone)
                summary.removed = gone.count
            }
        }

        // Fetch, embed, store — batch k+1 downloading while batch k is embedded.
        progress?.started(total: work.count)
        var done = 0
        var start = 0
        func fetchTask(_ range: Range<Int>) -> Task<[Obtained], Never> {
            let batch = Array(work[range])
            return Task { await self.obtainAll(batch) }
        }
        var pending = work.isEmpty ? nil : fetchTask(0..<min(batchSize, work.count))
        var staleIds: [Int64] = []
        while let task = pending {
            let range = start..<min(start + batchSize, work.count)
            let obtained = await task.value
            let next = range.upperBound
            pending = next < work.count && !shouldStop() ? fetchTask(next..<min(next + batchSize, work.count)) : nil
            try await commit(Array(work[range]), obtained, summary: &summary, stale: &staleIds)
            done += range.count
            progress?.advanced(done: done, total: work.count)
            start = next
            if shouldStop() && pending == nil && start < work.count { summary.interrupted = true; break }
        }
        // A row whose URL changed and whose new image fails keeps no stale image.
        if let store { try await store.removeImages(ids: staleIds) }
        progress?.finished()
        return summary
    }

    /// Fetches a batch, `parallelFetches` at a time, results in order.
    func obtainAll(_ batch: [Work]) async -> [Obtained] {
        await withTaskGroup(of: (Int, Obtained).self) { group in
            var results = [Obtained](repeating: .failed("not fetched"), count: batch.count)
            var next = 0
            func launch() {
                guard next < batch.count else { return }
                let i = next, work = batch[i]
                next += 1
                group.addTask { (i, await self.obtain(work)) }
            }
            for _ in 0..<min(parallelFetches, batch.count) { launch() }
            while let (i, result) = await group.next() {
                results[i] = result
                launch()
            }
            return results
        }
    }

    /// The bytes of one row: from the download cache when a complete download of the same content is there,
    /// else from the network.
    func obtain(_ work: Work) async -> Obtained {
        let url = work.item.url
        if work.validator == nil, let path = cache.existing(url),
           work.item.listedValidator == nil || cache.validator(for: url) == work.item.listedValidator,
           let format = Self.sniff(path) {
            return .file(path: path, format: format, validator: cache.validator(for: url), downloaded: false)
        }
        do {
            switch try await fetcher.fetch(url, to: cache.path(for: url), validator: work.validator) {
            case .notModified:
                return .notModified
            case let .fetched(fetched):
                let validator = work.item.listedValidator ?? fetched.validator
                cache.record(validator: validator, for: url)
                return .file(path: fetched.path, format: fetched.format, validator: validator, downloaded: true)
            }
        } catch {
            return .failed("\(error)")
        }
    }

    static func sniff(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let head = (try? handle.read(upToCount: 64)) ?? Data()
        return ImageSniffer.fileExtension(Array(head))
    }

    /// Decodes, embeds and stores one fetched batch (or only counts it in a dry run), then releases its downloads.
    private func commit(_ batch: [Work], _ obtained: [Obtained], summary: inout IndexSummary, stale: inout [Int64]) async throws {
        var files: [(work: Work, path: String, format: String, validator: String?)] = []
        for (work, result) in zip(batch, obtained) {
            switch result {
            case let .file(path, format, validator, downloaded):
                if downloaded { summary.fetched! += 1 }
                files.append((work, path, format, validator))
            case .notModified:
                summary.unchanged += 1
            case let .failed(error):
                summary.failed.append(IndexFailure(path: work.item.key, error: error, id: work.item.sourceID, url: work.item.url))
                if let id = work.replacing, work.validator == nil { stale.append(id) }
            }
        }
        guard let store, let embedder else {
            summary.added += files.count
            for file in files { cache.release(file.work.item.url) }
            return
        }
        let decoded = concurrentResults(files.count) { i -> PreparedImage in
            let image = try embedder.prepare(path: files[i].path)
            return PreparedImage(pixels: image.pixels, width: image.width, height: image.height, format: files[i].format == "jpg" ? "jpeg" : files[i].format,
                                 contentHash: try ContentHash.ofFile(files[i].path), facts: PhotoFacts.read(path: files[i].path))
        }
        let embedded = embedder.embedDecoded(decoded.map { $0.map(\.pixels) })
        var records: [ImageRecord] = []
        var sources: [String] = []
        for (k, file) in files.enumerated() {
            switch (decoded[k], embedded[k]) {
            case let (.success(prepared), .success(vector)):
                let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int64) ?? 0
                records.append(ImageRecord(path: file.work.item.key, size: size ?? 0, mtimeNanoseconds: 0, contentHash: prepared.contentHash,
                                           width: prepared.width, height: prepared.height, format: prepared.format, embedding: vector,
                                           sourceID: file.work.item.sourceID, url: file.work.item.url, validator: file.validator,
                                           metadata: FileMetadata.merge(file.work.item.metadata, FileMetadata.make(
                                               width: prepared.width, height: prepared.height, format: prepared.format, facts: prepared.facts))))
                sources.append(file.path)
                if file.work.replacing == nil { summary.added += 1 } else { summary.updated += 1 }
            case let (.failure(error), _), let (_, .failure(error)):
                // The decoder names the downloaded file; the row is named by its id and URL instead.
                let reason = "\(error)".replacingOccurrences(of: file.path + ": ", with: "").replacingOccurrences(of: file.path, with: "the download")
                summary.failed.append(IndexFailure(path: file.work.item.key, error: "cannot decode: \(reason)", id: file.work.item.sourceID,
                                                   url: file.work.item.url))
                if let id = file.work.replacing, file.work.validator == nil { stale.append(id) }
            }
        }
        if !records.isEmpty { try await precisionRecord.note(embedder.precision, in: store) }
        let ids = try await store.saveImages(records)
        if let thumbnails { try? await store.saveThumbnails(thumbnails.make(Array(zip(ids, sources)))) }
        for file in files { cache.release(file.work.item.url) }
    }
}
