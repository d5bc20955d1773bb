import Foundation
import GlimpseIndex

/// The default store: a library folder on this machine. SQLite is the source of truth (`Library`); the vector
/// index (`LibraryIndex`: exact search for small libraries, HNSW for large ones) is derived from it, follows it
/// through `refresh()` and is written to `index/vectors.gidx` by `checkpoint()`. Thumbnails are files in
/// `thumbnails/ID.jpg`.
public final class EmbeddedStore: ImageStore, @unchecked Sendable {
    public let library: Library
    private let lock = NSLock()
    private var openedIndex: LibraryIndex?
    private let indexConfiguration: AutoIndex.Configuration
    /// Caption embeddings for exact search, and the library generation they were read at.
    private var captionIndex: (index: ExactIndex, generation: Int64)?

    /// Opens the library folder at `directory`, creating it when `create` is true.
    public init(directory: String, create: Bool = true, indexConfiguration: AutoIndex.Configuration = AutoIndex.Configuration()) throws {
        library = try Library(directory: directory, create: create)
        self.indexConfiguration = indexConfiguration
    }

    public var location: String { library.directory }

    /// The vector index, opened (loaded, caught up or rebuilt) on first use: an indexing run that never searches
    /// never pays for it.
    public func index() throws -> LibraryIndex {
        try lock.withLock {
            if let openedIndex { return openedIndex }
            let index = try LibraryIndex(library: library, configuration: indexConfiguration)
            openedIndex = index
            return index
        }
    }

    public func bindModel(name: String, fingerprint: String, dimension: Int) async throws {
        try library.bindModel(name: name, fingerprint: fingerprint, dimension: dimension)
        // An index opened before any model was bound has no dimension yet: open it again when next needed.
        lock.withLock { if openedIndex?.vectors.dimension != dimension { openedIndex = nil } }
    }

    public func model() async throws -> ModelBinding? {
        guard let name = try library.setting("model.name"), let fingerprint = try library.setting("model.fingerprint"),
              let dimension = try library.setting("model.dimension").flatMap(Int.init) else { return nil }
        return ModelBinding(name: name, fingerprint: fingerprint, dimension: dimension)
    }
    public func recordPrecision(_ precision: String) async throws { try library.setSetting("precision." + precision, "1") }
    public func precisions() async throws -> [String] {
        try library.settingKeys(prefix: "precision.").map { String($0.dropFirst("precision.".count)) }.sorted()
    }
    public func collectionRoots() async throws -> [String] { try library.collectionRoots() }
    public func addCollectionRoots(_ roots: [String]) async throws { try library.addCollectionRoots(roots) }

    public func imageCount() async throws -> Int { try library.imageCount() }
    public func fileStates() async throws -> [StoredFileState] { try library.fileStates() }
    public func image(id: Int64) async throws -> ImageRecord? { try library.image(id: id) }
    public func image(path: String) async throws -> ImageRecord? { try library.image(path: path) }
    public func images(ids: [Int64]) async throws -> [Int64: ImageRecord] { try library.images(ids: ids) }

    @discardableResult
    public func saveImages(_ records: [ImageRecord]) async throws -> [Int64] { try library.saveImages(records) }

    public func moveImages(_ moves: [ImageMove]) async throws {
        try library.moveImages(moves.map { ($0.id, $0.newPath, $0.mtimeNanoseconds) })
    }

    public func removeImages(ids: [Int64]) async throws {
        try library.removeImages(ids: ids)
        for id in ids { try? FileManager.default.removeItem(atPath: library.thumbnailPath(id: id)) }
    }

    public func forEachImage(batchSize: Int, _ body: ([ImageRecord]) async throws -> Void) async throws {
        var after: Int64 = 0
        while true {
            let batch = try library.images(after: after, limit: batchSize)
            guard let last = batch.last?.id else { return }
            try await body(batch)
            after = last
        }
    }

    public func sourceStates(pathPrefix: String) async throws -> [StoredSourceState] { try library.sourceStates(pathPrefix: pathPrefix) }
    public func updateMetadata(_ updates: [(id: Int64, metadata: ImageMetadata)]) async throws { try library.updateMetadata(updates) }

    public func nearest(to vector: [Float], k: Int, minScore: Float?, ef: Int?, filter: MetadataFilter?) async throws -> [ScoredImage] {
        let vectors = try index().vectors
        guard vectors.count > 0 else { return [] }
        if let filter, !filter.isEmpty {
            let allowed = Set(try library.imageIDs(matching: filter))
            return try vectors.search(vector, k: k, ef: ef, minScore: minScore, allowed: allowed).map { ScoredImage(id: $0.label, score: $0.score) }
        }
        let found = if let ef { try vectors.search(vector, k: k, ef: ef, minScore: minScore) } else {
            try vectors.search(vector, k: k, minScore: minScore)
        }
        return found.map { ScoredImage(id: $0.label, score: $0.score) }
    }

    public func refresh() async throws { try index().catchUp() }

    public func checkpoint() async throws {
        // Only an index that was opened can lag its file; an indexing run leaves the file for the next open.
        if let index = lock.withLock({ openedIndex }) { try index.checkpoint() }
    }

    public func bindCaptionModels(_ binding: CaptionBinding) async throws { try library.bindCaptionModels(binding) }
    public func captionModels() async throws -> CaptionBinding? { try library.captionModels() }
    public func imagesNeedingCaptions() async throws -> [CaptionTarget] { try library.imagesNeedingCaptions() }
    public func saveCaptions(_ captions: [ImageCaption]) async throws { try library.saveCaptions(captions) }
    public func captions(ids: [Int64]) async throws -> [Int64: String] { try library.captions(ids: ids) }
    public func captionCount() async throws -> Int { try library.captionCount() }
    public func captionEmbeddings(ids: [Int64]) async throws -> [Int64: [Float]] {
        let wanted = Set(ids), read = try library.captionEmbeddings()
        var out: [Int64: [Float]] = [:]
        for (id, vector) in zip(read.ids, read.vectors) where wanted.contains(id) { out[id] = vector }
        return out
    }

    /// Exact search over the caption embeddings, read again from SQLite whenever the library changed since.
    public func nearestCaptions(to vector: [Float], k: Int, minScore: Float?, filter: MetadataFilter?) async throws -> [ScoredImage] {
        let generation = try library.generation()
        let index: ExactIndex
        if let cached = lock.withLock({ captionIndex }), cached.generation == generation {
            index = cached.index
        } else {
            let read = try library.captionEmbeddings()
            guard let dimension = read.vectors.first?.count else { return [] }
            index = ExactIndex(dimension: dimension, capacity: read.ids.count)
            try index.add(labels: read.ids, vectors: read.vectors)
            lock.withLock { captionIndex = (index, read.generation) }
        }
        guard index.count > 0 else { return [] }
        if let filter, !filter.isEmpty {
            let allowed = Set(try library.imageIDs(matching: filter))
            return try index.search(vector, k: k, minScore: minScore, allowed: allowed).map { ScoredImage(id: $0.label, score: $0.score) }
        }
        return try index.search(vector, k: k, minScore: minScore).map { ScoredImage(id: $0.label, score: $0.score) }
    }

    public var indexKind: String { (try? index().vectors.kind.rawValue) ?? "exact" }

    public func thumbnail(id: Int64) async throws -> Data? { FileManager.default.contents(atPath: library.thumbnailPath(id: id)) }

    public func saveThumbnails(_ thumbnails: [(id: Int64, jpeg: Data)]) async throws {
        guard !thumbnails.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: library.thumbnailDirectory, withIntermediateDirectories: true)
        for (id, jpeg) in thumbnails {
            try jpeg.write(to: URL(fileURLWithPath: library.thumbnailPath(id: id)), options: .atomic)
        }
    }

    public func close() async {}
}
