import Dispatch
import Foundation
import GlimpseEngine
import GlimpseImage
import GlimpseIndex
import GlimpseModels
import GlimpseStore
import GlimpseTensor

/// What the HTTP layer asks of a store: search, images, uploads, deletions and rescans, over the same
/// `ImageStore`, `Searcher` and `Indexer` the CLI uses. The model is loaded before the first request; text queries
/// go through a `TextQueryBatcher`; image decodes through a bounded queue. Writes (upload, delete, rescan) run one
/// at a time: the store first, then `refresh()` (the embedded store's in-memory index catches up from its change
/// log), and `checkpoint()` in the background and on shutdown — a crash in between loses nothing, since the next
/// start catches up from the database. Over a database server the service holds no state beyond caches, so several
/// servers can answer for one collection.
public final class LibraryService: @unchecked Sendable {
    public let store: any ImageStore
    public let embedder: Embedder
    public let textModelName: String?
    public let searcher: Searcher
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    public let indexStatus = IndexStatusTracker()
    public let modelName: String
    public let thumbnails: ThumbnailWriter
    let batcher: TextQueryBatcher
    let decodes: BlockingWorkQueue

    private let lock = NSLock()
    private var roots: [String]
    private var writing = false
    private var stopping = false
    private var checkpointScheduled = false

    /// Where uploads are stored (absolute, like every path the indexer stores); nil: uploads are refused.
    public let uploadsDirectory: String?

    public init(store: any ImageStore, embedder: Embedder, modelName: String, textModelName: String? = nil,
                captionText: (any TextEncoder)? = nil,
                uploadsDirectory: String?, configuration: ServerConfiguration, metrics: ServerMetrics = ServerMetrics()) async throws {
        self.textModelName = textModelName
        self.store = store
        self.uploadsDirectory = uploadsDirectory.map(FileScanner.absolute)
        self.embedder = embedder
        self.modelName = modelName
        self.configuration = configuration
        self.metrics = metrics
        self.thumbnails = ThumbnailWriter(decoder: ImageDecoder(maxPixels: configuration.maxPixels))
        searcher = Searcher(store: store, embedder: embedder, captionText: captionText)
        decodes = BlockingWorkQueue(width: configuration.maxConcurrentDecodes)
        roots = try await store.collectionRoots()
        batcher = TextQueryBatcher(maxBatch: configuration.maxQueryBatch) { [embedder, metrics] texts in
            metrics.recordQueryBatch(texts.count)
            return embedder.embed(texts: texts)
        }
        try await store.refresh()
        metrics.setIndexSize(try await store.imageCount())
        scheduleCheckpoint()
        // The first query is as fast as the others: touch every weight once now.
        _ = embedder.embed(text: "warm up")
    }

    /// Stops background work (the text encoder thread, and an indexing run after its current batch).
    public func shutdown() async {
        lock.withLock { stopping = true }
        batcher.stop()
        await checkpoint()
        await store.close()
    }

    // MARK: Reading

    public func info() async throws -> LibraryInfo {
        // A model given as a folder shows as its folder name; Hub ids ("openai/clip-vit-base-patch32") as they are.
        func shown(_ name: String) -> String { name.hasPrefix("/") || name.hasPrefix(".") ? (name as NSString).lastPathComponent : name }
        let captions = try await store.captionCount()
        let paths: [SearchPath] = searcher.captionText != nil && captions > 0 ? SearchPath.allCases : [.clip]
        return LibraryInfo(status: "ok", images: try await store.imageCount(), model: shown(modelName),
                           textModel: shown(textModelName ?? modelName), dimension: embedder.embeddingDim,
                           indexKind: store.indexKind, version: "0.1.0", captions: captions, searchPaths: paths.map(\.rawValue),
                           precision: embedder.precision.rawValue, kernel: embedder.precision.kernelDescription,
                           vectorPrecisions: try await store.precisions())
    }

    public func image(id: Int64) async throws -> ImageRecord {
        guard let record = try await store.image(id: id) else { throw APIError.imageNotFound(id: String(id)) }
        return record
    }

    func relativePath(_ path: String) -> String {
        let roots = lock.withLock { self.roots }
        return Library.relativePath(path, roots: roots)
    }

    static func version(_ record: ImageRecord) -> String { String(record.contentHash.prefix(8)) }

    public func info(for record: ImageRecord) -> ImageInfo {
        let id = record.id ?? 0
        // An image fetched over http(s) links to its original; the server never proxies other hosts.
        let original = record.url.flatMap { url in url.lowercased().hasPrefix("http://") || url.lowercased().hasPrefix("https://") ? url : nil }
        return ImageInfo(id: id, path: record.url == nil ? relativePath(record.path) : record.displayID, width: record.width, height: record.height,
                         format: record.format, size: record.size, indexedAt: record.indexedAt,
                         thumbnailURL: "/api/images/\(id)/thumbnail?v=\(Self.version(record))",
                         url: original ?? "/api/images/\(id)/file?v=\(Self.version(record))", similarURL: "/api/images/\(id)/similar",
                         sourceID: record.url == nil ? nil : record.displayID, sourceURL: record.url, metadata: record.metadataValues)
    }

    // MARK: Search

    public func search(text: String, options: SearchOptions) async throws -> [SearchResult] {
        // Refused before tokenization: the encoder reads 77 tokens at most, a few hundred bytes.
        guard text.utf8.count <= configuration.maxQueryBytes else {
            throw APIError.queryTooLong(bytes: text.utf8.count, limit: configuration.maxQueryBytes)
        }
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw APIError.emptyQuery }
        let query: EmbeddedQuery
        if options.path == .clip {
            query = EmbeddedQuery(clip: await batcher.embed(text), caption: nil)
        } else {
            guard let captionText = searcher.captionText else { throw APIError.captionsUnavailable(path: options.path.rawValue) }
            // The sentence encoder runs on the bounded blocking queue, beside (not in) the CLIP query batcher.
            let captionVector = try await decodes.run { captionText.embed(text: text) }
            query = EmbeddedQuery(clip: options.path == .caption ? nil : await batcher.embed(text), caption: captionVector)
        }
        return try await searcher.search(query: query, limit: options.limit, offset: options.offset, path: options.path,
                                         minScore: options.minScore, ef: options.ef, filter: options.filter).map(result)
    }

    public func search(imageBytes: [UInt8], options: SearchOptions) async throws -> [SearchResult] {
        let vector = try await embed(imageBytes: imageBytes)
        return try await search(vector: vector, options: options)
    }

    public func similar(to id: Int64, options: SearchOptions) async throws -> [SearchResult] {
        let record = try await image(id: id)
        return try await search(vector: record.vector, options: options, excluding: id)
    }

    func search(vector: [Float], options: SearchOptions, excluding: Int64? = nil) async throws -> [SearchResult] {
        try await searcher.search(vector: vector, limit: options.limit, offset: options.offset, minScore: options.minScore,
                                  excluding: excluding, ef: options.ef, filter: options.filter).map(result)
    }

    func result(_ hit: SearchHit) -> SearchResult {
        let image = info(for: hit.image)
        return SearchResult(id: hit.id, path: image.path, score: hit.score, probability: hit.probability, width: hit.width, height: hit.height,
                            thumbnailURL: image.thumbnailURL, url: image.url, caption: hit.caption,
                            sourceID: image.sourceID, sourceURL: image.sourceURL, metadata: image.metadata)
    }

    /// Decodes an uploaded image in memory (never through the file system) and embeds it.
    func embed(imageBytes: [UInt8]) async throws -> [Float] {
        let decoder = ImageDecoder(maxPixels: configuration.maxPixels)
        let embedder = self.embedder
        return try await decodes.run {
            let image = try Self.decode(imageBytes, decoder: decoder, shrinkTarget: embedder.preprocessor.shrinkOnLoadTarget)
            return try embedder.embedDecoded([.success(embedder.preprocessor.pixelValues(image))])[0].get()
        }
    }

    static func decode(_ bytes: [UInt8], decoder: ImageDecoder, shrinkTarget: Int?) throws -> RGBImage {
        guard !bytes.isEmpty else { throw APIError.unsupportedImage(reason: "the image is empty") }
        guard ImageSniffer.fileExtension(bytes) != nil else {
            throw APIError.unsupportedImage(reason: "not a JPEG, PNG, WebP, GIF, TIFF, BMP or HEIF image")
        }
        do {
            return try decoder.decode(data: bytes, name: "upload", shrinkOnLoadTarget: shrinkTarget)
        } catch let error as ImageError {
            switch error {
            case let .tooManyPixels(_, width, height, limit): throw APIError.imageTooLarge(width: width, height: height, limitPixels: limit)
            default: throw APIError.unsupportedImage(reason: error.description)
            }
        }
    }

    // MARK: Thumbnails and files

    /// Where this machine sees a stored path: the first `--path-prefix-map FROM=TO` whose FROM starts it is
    /// replaced (servers that mount the collection elsewhere than the indexer did).
    public func localPath(_ stored: String) -> String {
        for (from, to) in configuration.pathPrefixMap where stored.hasPrefix(from) { return to + stored.dropFirst(from.count) }
        return stored
    }

    /// JPEG bytes of the image's thumbnail, made now (and kept) when index time did not make it.
    public func thumbnail(for record: ImageRecord) async throws -> Data {
        let id = record.id ?? 0
        if let data = try await store.thumbnail(id: id) { return data }
        let path = try file(for: record)
        guard FileManager.default.fileExists(atPath: path) else { throw APIError.imageFileMissing(id: id) }
        let thumbnails = self.thumbnails
        let data = try await decodes.run {
            do { return try thumbnails.jpeg(path: path, id: id) } catch {
                throw APIError.unsupportedImage(reason: "cannot make a thumbnail: \(error)")
            }
        }
        try? await store.saveThumbnails([(id, data)])
        return data
    }

    /// The path of the image's file on this machine, checked to be there (the route streams it).
    public func file(for record: ImageRecord) throws -> String {
        let path: String
        if let url = record.url {
            // A list's file:// rows are files here; other originals are elsewhere, and never fetched for a client.
            guard url.lowercased().hasPrefix("file://"), let local = URL(string: url)?.path else {
                throw APIError.remoteOriginal(id: record.id ?? 0, url: url)
            }
            path = local
        } else {
            path = localPath(record.path)
        }
        guard FileManager.default.isReadableFile(atPath: path) else { throw APIError.imageFileMissing(id: record.id ?? 0) }
        return path
    }

    // MARK: Writing

    private func beginWrite() throws {
        try lock.withLock {
            if writing { throw APIError.indexingInProgress }
            writing = true
        }
    }

    private func endWrite() { lock.withLock { writing = false } }

    /// True while an upload, a deletion or a rescan holds the library.
    public var isWriting: Bool { lock.withLock { writing } }

    /// Makes the store's search follow what was written (the embedded store's index catches up from its change
    /// log: only the rows changed since it last looked), and schedules a checkpoint.
    func applyChanges() async throws {
        try await store.refresh()
        let roots = try await store.collectionRoots()
        lock.withLock { self.roots = roots }
        metrics.setIndexSize(try await store.imageCount())
        scheduleCheckpoint()
    }

    /// Checkpoints `checkpointDelay` after the first write that needs it (so a burst of uploads costs one write of
    /// the index file), off the request path; searches keep answering meanwhile.
    private func scheduleCheckpoint() {
        let schedule: Bool = lock.withLock {
            guard !checkpointScheduled, !stopping else { return false }
            checkpointScheduled = true
            return true
        }
        guard schedule else { return }
        let delay = configuration.checkpointDelay
        Task { [weak self] in
            try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
            guard let self else { return }
            lock.withLock { checkpointScheduled = false }
            await checkpoint()
        }
    }

    /// Checkpoints now if needed; a failure is logged and retried at the next write or shutdown.
    private func checkpoint() async {
        do { try await store.checkpoint() } catch {
            FileHandle.standardError.write(Data("glimpse: cannot write the index file: \(error)\n".utf8))
        }
    }

    func makeIndexer() -> Indexer {
        let indexer = Indexer(store: store, embedder: embedder, batchSize: 16)
        indexer.thumbnails = thumbnails
        return indexer
    }

    /// Stores an uploaded image in the uploads folder (named by its content hash) and indexes that file alone: the
    /// cost does not grow with the library.
    public func upload(imageBytes bytes: [UInt8]) async throws -> ImageRecord {
        guard let uploadsDirectory else { throw APIError.uploadsDisabled }
        let decoder = ImageDecoder(maxPixels: configuration.maxPixels)
        try beginWrite()
        defer { endWrite() }
        let (path, created) = try await decodes.run { () throws -> (String, Bool) in
            _ = try Self.decode(bytes, decoder: decoder, shrinkTarget: 64)  // refuse bad images before storing them
            let ext = ImageSniffer.fileExtension(bytes) ?? "img"
            let name = bytes.withUnsafeBytes { ContentHash.hex(ContentHash.hash($0)) } + "." + ext
            let path = (uploadsDirectory as NSString).appendingPathComponent(name)
            let created = !FileManager.default.fileExists(atPath: path)
            if created {
                try FileManager.default.createDirectory(atPath: uploadsDirectory, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
            return (path, created)
        }
        if !lock.withLock({ roots.contains(uploadsDirectory) }) { try await store.addCollectionRoots([uploadsDirectory]) }
        let record: ImageRecord
        do { record = try await makeIndexer().index(file: path) } catch let failure as IndexFailure {
            if created { try? FileManager.default.removeItem(atPath: path) }
            throw APIError.unsupportedImage(reason: failure.error)
        }
        try await applyChanges()
        return record
    }

    /// Removes an image from the library (and its thumbnail; an uploaded copy is deleted too, files of the
    /// collection never are).
    public func delete(id: Int64) async throws {
        let record = try await image(id: id)
        try beginWrite()
        defer { endWrite() }
        try await store.removeImages(ids: [id])
        try await applyChanges()
        if let uploadsDirectory, record.path.hasPrefix(uploadsDirectory + "/") { try? FileManager.default.removeItem(atPath: record.path) }
    }

    /// Starts rescanning every collection root in the background; progress is in `indexStatus`.
    public func startRescan() async throws -> IndexStatus {
        let roots = try await store.collectionRoots()
        guard !roots.isEmpty else { throw APIError.nothingToIndex }
        try beginWrite()
        indexStatus.begin()
        let indexer = makeIndexer()
        indexer.progress = indexStatus
        let status = indexStatus
        Task.detached { [self] in
            defer { endWrite() }
            do {
                let summary = try await indexer.index(roots: roots, shouldStop: { [self] in lock.withLock { stopping } })
                try await applyChanges()
                status.end(summary)
            } catch {
                status.fail(error)
            }
            withExtendedLifetime(indexer) {}
        }
        return indexStatus.snapshot
    }
}
