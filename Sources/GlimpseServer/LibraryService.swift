import Dispatch
import Foundation
import GlimpseEngine
import GlimpseImage
import GlimpseIndex
import GlimpseModels
import GlimpseStore

/// What the HTTP layer asks of a library: search, images, uploads, deletions and rescans, over the same
/// `Library`, vector index and model the CLI uses. The model is loaded before the first request; text queries
/// go through a `TextQueryBatcher`; writes (upload, delete, rescan) run one at a time and are applied to the
/// in-memory index from the library's change log, then saved.
public final class LibraryService: @unchecked Sendable {
    public let library: Library
    public let embedder: CLIPEmbedder
    public let index: AutoIndex
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    public let indexStatus = IndexStatusTracker()
    public let modelName: String
    public let thumbnails: ThumbnailWriter
    let batcher: TextQueryBatcher

    private let lock = NSLock()
    private var indexedGeneration: Int64
    private var roots: [String]
    private var writing = false
    private var stopping = false

    /// Absolute, like every path the indexer stores.
    public var uploadsDirectory: String { FileScanner.absolute((library.directory as NSString).appendingPathComponent("uploads")) }

    public init(library: Library, embedder: CLIPEmbedder, modelName: String, configuration: ServerConfiguration,
                metrics: ServerMetrics = ServerMetrics()) throws {
        self.library = library
        self.embedder = embedder
        self.modelName = modelName
        self.configuration = configuration
        self.metrics = metrics
        self.thumbnails = ThumbnailWriter(decoder: ImageDecoder(maxPixels: configuration.maxPixels))
        indexedGeneration = try library.generation()
        let loaded = try LibraryIndex.load(library: library)
        // A library with no model recorded yet loads as a placeholder index: give it the model's dimension.
        index = loaded.dimension == embedder.embeddingDim ? loaded : AutoIndex(dimension: embedder.embeddingDim)
        roots = try library.collectionRoots()
        batcher = TextQueryBatcher(maxBatch: configuration.maxQueryBatch) { [embedder, metrics] texts in
            metrics.recordQueryBatch(texts.count)
            return embedder.embed(texts: texts)
        }
        metrics.setIndexSize(index.count)
        // The first query is as fast as the others: touch every weight once now.
        _ = embedder.embed(text: "warm up")
    }

    /// Stops background work (the text encoder thread, and an indexing run after its current batch).
    public func shutdown() {
        lock.withLock { stopping = true }
        batcher.stop()
    }

    // MARK: Reading

    public func info() throws -> LibraryInfo {
        // A model given as a folder shows as its folder name; Hub ids ("openai/clip-vit-base-patch32") as they are.
        let model = modelName.hasPrefix("/") || modelName.hasPrefix(".") ? (modelName as NSString).lastPathComponent : modelName
        return LibraryInfo(status: "ok", images: index.count, model: model, dimension: embedder.embeddingDim,
                    indexKind: index.kind.rawValue, version: "0.1.0")
    }

    public func image(id: Int64) throws -> ImageRecord {
        guard let record = try library.image(id: id) else { throw APIError.imageNotFound(id: String(id)) }
        return record
    }

    func relativePath(_ path: String) -> String {
        let roots = lock.withLock { self.roots }
        return Library.relativePath(path, roots: roots)
    }

    static func version(_ record: ImageRecord) -> String { String(record.contentHash.prefix(8)) }

    public func info(for record: ImageRecord) -> ImageInfo {
        let id = record.id ?? 0
        return ImageInfo(id: id, path: relativePath(record.path), width: record.width, height: record.height,
                         format: record.format, size: record.size, indexedAt: record.indexedAt,
                         thumbnailURL: "/api/images/\(id)/thumbnail?v=\(Self.version(record))",
                         url: "/api/images/\(id)/file?v=\(Self.version(record))", similarURL: "/api/images/\(id)/similar")
    }

    // MARK: Search

    public func search(text: String, options: SearchOptions) async throws -> [SearchResult] {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw APIError.emptyQuery }
        let vector = await batcher.embed(text)
        return try search(vector: vector, options: options)
    }

    public func search(imageBytes: [UInt8], options: SearchOptions) async throws -> [SearchResult] {
        let vector = try await embed(imageBytes: imageBytes)
        return try search(vector: vector, options: options)
    }

    public func similar(to id: Int64, options: SearchOptions) throws -> [SearchResult] {
        let record = try image(id: id)
        return try search(vector: record.vector, options: options, excluding: id)
    }

    func search(vector: [Float], options: SearchOptions, excluding: Int64? = nil) throws -> [SearchResult] {
        let k = options.offset + options.limit + (excluding == nil ? 0 : 1)
        var found = try index.search(vector, k: k, minScore: options.minScore)
        if let excluding { found.removeAll { $0.label == excluding } }
        let page = Array(found.dropFirst(options.offset).prefix(options.limit))
        let records = try library.images(ids: page.map(\.label))
        return page.compactMap { hit in
            guard let record = records[hit.label] else { return nil }
            let image = info(for: record)
            return SearchResult(id: hit.label, path: image.path, score: hit.score, width: record.width, height: record.height,
                                thumbnailURL: image.thumbnailURL, url: image.url)
        }
    }

    /// Decodes an uploaded image in memory (never through the file system) and embeds it.
    func embed(imageBytes: [UInt8]) async throws -> [Float] {
        let decoder = ImageDecoder(maxPixels: configuration.maxPixels)
        let embedder = self.embedder
        return try await Self.offload {
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

    /// Runs blocking work (decoding, the model, SQLite writes) off Swift's cooperative pool.
    static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    // MARK: Thumbnails and files

    /// JPEG bytes of the image's thumbnail, made now (and kept) when index time did not make it.
    public func thumbnail(for record: ImageRecord) async throws -> Data {
        let id = record.id ?? 0
        let path = library.thumbnailPath(id: id)
        if let data = FileManager.default.contents(atPath: path) { return data }
        guard FileManager.default.fileExists(atPath: record.path) else { throw APIError.imageFileMissing(id: id) }
        let (library, thumbnails) = (self.library, self.thumbnails)
        return try await Self.offload {
            do {
                let written = try thumbnails.write(id: id, path: record.path, library: library)
                return try Data(contentsOf: URL(fileURLWithPath: written))
            } catch {
                throw APIError.unsupportedImage(reason: "cannot make a thumbnail: \(error)")
            }
        }
    }

    public func file(for record: ImageRecord) throws -> Data {
        guard let data = FileManager.default.contents(atPath: record.path) else {
            throw APIError.imageFileMissing(id: record.id ?? 0)
        }
        return data
    }

    // MARK: Writing

    private func beginWrite() throws {
        try lock.withLock {
            if writing { throw APIError.indexingInProgress }
            writing = true
        }
    }

    private func endWrite() { lock.withLock { writing = false } }

    /// Applies what changed in SQLite since the index last saw it, and saves the index file.
    func applyChanges() throws {
        let since = lock.withLock { indexedGeneration }
        let generation = try library.generation()
        let changes = try library.changes(since: since)
        for id in changes.removals { _ = index.remove(label: id) }
        if !changes.upserts.isEmpty { try index.add(labels: changes.upserts.map(\.0), vectors: changes.upserts.map(\.1)) }
        try index.save(to: LibraryIndex.path(library), generation: UInt64(generation))
        let roots = try library.collectionRoots()
        lock.withLock { indexedGeneration = generation; self.roots = roots }
        metrics.setIndexSize(index.count)
    }

    func makeIndexer() -> Indexer {
        let indexer = Indexer(library: library, embedder: embedder, batchSize: 16)
        indexer.thumbnails = thumbnails
        return indexer
    }

    /// Stores an uploaded image in the library's `uploads/` folder (named by its content hash) and indexes it.
    public func upload(imageBytes bytes: [UInt8]) async throws -> ImageRecord {
        let decoder = ImageDecoder(maxPixels: configuration.maxPixels)
        try beginWrite()
        defer { endWrite() }
        return try await Self.offload { [self] in
            _ = try Self.decode(bytes, decoder: decoder, shrinkTarget: 64)  // refuse bad images before storing them
            let ext = ImageSniffer.fileExtension(bytes) ?? "img"
            let name = bytes.withUnsafeBytes { ContentHash.hex(ContentHash.hash($0)) } + "." + ext
            let path = (uploadsDirectory as NSString).appendingPathComponent(name)
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(atPath: uploadsDirectory, withIntermediateDirectories: true)
                try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
            }
            let summary = try makeIndexer().index(roots: [uploadsDirectory])
            try applyChanges()
            guard let record = try library.image(path: path) else {
                let reason = summary.failed.first { $0.path == path }?.error ?? "it could not be indexed"
                try? FileManager.default.removeItem(atPath: path)
                throw APIError.unsupportedImage(reason: reason)
            }
            return record
        }
    }

    /// Removes an image from the library (and its thumbnail; an uploaded copy is deleted too, files of the
    /// collection never are).
    public func delete(id: Int64) async throws {
        let record = try image(id: id)
        try beginWrite()
        defer { endWrite() }
        try await Self.offload { [self] in
            try library.removeImages(ids: [id])
            try applyChanges()
            try? FileManager.default.removeItem(atPath: library.thumbnailPath(id: id))
            if record.path.hasPrefix(uploadsDirectory + "/") { try? FileManager.default.removeItem(atPath: record.path) }
        }
    }

    /// Starts rescanning every collection root in the background; progress is in `indexStatus`.
    public func startRescan() throws -> IndexStatus {
        let roots = try library.collectionRoots()
        guard !roots.isEmpty else { throw APIError.nothingToIndex }
        try beginWrite()
        indexStatus.begin()
        let indexer = makeIndexer()
        indexer.progress = indexStatus
        let status = indexStatus
        DispatchQueue.global().async { [self] in
            defer { endWrite() }
            do {
                let summary = try indexer.index(roots: roots, shouldStop: { [self] in lock.withLock { stopping } })
                try applyChanges()
                status.end(summary)
            } catch {
                status.fail(error)
            }
            withExtendedLifetime(indexer) {}
        }
        return indexStatus.snapshot
    }
}
