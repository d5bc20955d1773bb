import Foundation

/// What the engine and the server need of the place that keeps a collection: a catalog of images with their
/// records and embeddings, nearest-neighbour search over the embeddings, thumbnails, and a few settings (the model
/// that built it, the folders it was built from).
///
/// Three implementations: `EmbeddedStore` (a library folder: SQLite plus the vector index file derived from it; the
/// default), `PostgresStore` (PostgreSQL + pgvector, shared by many indexers and servers) and `MilvusStore` (Milvus,
/// a distributed vector database). Nothing above this protocol names any of them. The same conformance suite runs
/// against all three (`Tests/GlimpseEngineTests/StoreConformance*.swift`).
///
/// Contract:
/// - Writes are atomic per call: `saveImages`, `moveImages` and `removeImages` each commit in one transaction (in
///   Milvus, which has none: one request per collection written), so a killed writer loses nothing committed and
///   leaves no half-written batch.
/// - `saveImages` upserts by path: two writers saving the same path (two workers on overlapping folders) leave one
///   row, never two.
/// - Scores are cosine similarities, best first.
public protocol ImageStore: AnyObject, Sendable {
    /// Where the store is, for messages: a folder, or a URL without its password.
    var location: String { get }

    // MARK: Settings

    /// Records the model that builds the store on first use; afterwards a different fingerprint is refused
    /// (`StoreError.modelMismatch`).
    func bindModel(name: String, fingerprint: String, dimension: Int) async throws
    /// The model the store was built with (nil for a new store).
    func model() async throws -> ModelBinding?
    /// Absolute roots given to `glimpse index` (and the uploads folder), in the order first recorded.
    /// Notes that embeddings were written in `precision` ("fp32", "int8", "bf16"): a library remembers every precision
    /// its vectors were made in (vectors of different precisions agree to cosine ≥ 0.999 and may be mixed).
    func recordPrecision(_ precision: String) async throws
    /// The precisions recorded, sorted; more than one means the library's vectors are mixed.
    func precisions() async throws -> [String]
    func collectionRoots() async throws -> [String]
    /// Records roots, keeping those already recorded.
    func addCollectionRoots(_ roots: [String]) async throws

    // MARK: Catalog

    func imageCount() async throws -> Int
    /// Path, size, mtime and hash of every stored image (for change detection).
    func fileStates() async throws -> [StoredFileState]
    func image(id: Int64) async throws -> ImageRecord?
    func image(path: String) async throws -> ImageRecord?
    func images(ids: [Int64]) async throws -> [Int64: ImageRecord]
    /// Inserts new images or replaces the stored ones with the same path; returns their ids, in order.
    @discardableResult
    func saveImages(_ records: [ImageRecord]) async throws -> [Int64]
    /// Records that images moved: new path (and mtime), same content and embedding. A row already at the new path
    /// is replaced.
    func moveImages(_ moves: [ImageMove]) async throws
    /// Removes images (and their thumbnails).
    func removeImages(ids: [Int64]) async throws
    /// The images whose path starts with `prefix` (those read from one list or one S3 prefix), with what reading
    /// the list again compares.
    func sourceStates(pathPrefix: String) async throws -> [StoredSourceState]
    /// Replaces the metadata of stored images (a list row whose other columns changed), in one transaction.
    func updateMetadata(_ updates: [(id: Int64, metadata: ImageMetadata)]) async throws
    /// Every stored image in id order, `batchSize` at a time (export, copies between stores).
    func forEachImage(batchSize: Int, _ body: ([ImageRecord]) async throws -> Void) async throws

    // MARK: Vector search

    /// The `k` images nearest to `vector`, best first, only those scoring at least `minScore` when given.
    /// `ef` widens an approximate search (HNSW's candidate list) when given.
    /// With a `filter`, only images whose metadata satisfies it are candidates, and still `k` of them come back
    /// when that many match (the filter is applied during the search, not to its first k results).
    func nearest(to vector: [Float], k: Int, minScore: Float?, ef: Int?, filter: MetadataFilter?) async throws -> [ScoredImage]
    /// Makes writes by other processes visible to `nearest` (the embedded store's in-memory index catches up from
    /// the database; a database server needs nothing).
    func refresh() async throws
    /// Saves derived state so that the next open is fast (the embedded store writes its index file).
    func checkpoint() async throws
    /// What kind of vector index answers `nearest` ("exact", "hnsw", "pgvector-hnsw", "milvus-hnsw"), for /api/info.
    var indexKind: String { get }

    // MARK: Captions

    /// Records the captioning and sentence models on first use; afterwards another sentence encoder is refused
    /// (`StoreError.captionModelMismatch`), since its vectors would not compare with those stored.
    func bindCaptionModels(_ binding: CaptionBinding) async throws
    /// The caption models, nil when nothing was captioned yet.
    func captionModels() async throws -> CaptionBinding?
    /// Images without a caption for their current content, in id order.
    func imagesNeedingCaptions() async throws -> [CaptionTarget]
    /// Saves captions (replacing an image's earlier one), in one transaction. Captions of images removed
    /// meanwhile are dropped.
    func saveCaptions(_ captions: [ImageCaption]) async throws
    /// The current captions of these images (images without one are absent).
    func captions(ids: [Int64]) async throws -> [Int64: String]
    /// The sentence embeddings of these images' current captions (images without one are absent).
    func captionEmbeddings(ids: [Int64]) async throws -> [Int64: [Float]]
    /// How many images have a current caption.
    func captionCount() async throws -> Int
    /// The `k` images whose caption embeddings are nearest to `vector`, best first (exact search).
    func nearestCaptions(to vector: [Float], k: Int, minScore: Float?, filter: MetadataFilter?) async throws -> [ScoredImage]

    // MARK: Thumbnails

    /// The JPEG thumbnail of an image, nil when none was made.
    func thumbnail(id: Int64) async throws -> Data?
    func saveThumbnails(_ thumbnails: [(id: Int64, jpeg: Data)]) async throws

    /// Runs `body`, a large load (an import, a benchmark): a store may defer index maintenance to the end.
    /// PostgreSQL builds its HNSW index once after the rows are in when the table starts empty, many times faster
    /// than inserting into the graph row by row.
    func bulkLoad(_ body: () async throws -> Void) async throws

    /// Closes connections; the store is not used afterwards.
    func close() async
}

/// The model a store was built with: its name as the user gave it, a fingerprint of its weights, and its
/// embedding dimension.
public struct ModelBinding: Codable, Sendable, Equatable {
    public var name: String
    public var fingerprint: String
    public var dimension: Int
    public init(name: String, fingerprint: String, dimension: Int) {
        self.name = name
        self.fingerprint = fingerprint
        self.dimension = dimension
    }
}

extension ImageStore {
    public func modelName() async throws -> String? { try await model()?.name }
    public func bulkLoad(_ body: () async throws -> Void) async throws { try await body() }
    public func nearest(to vector: [Float], k: Int, minScore: Float?, ef: Int?) async throws -> [ScoredImage] {
        try await nearest(to: vector, k: k, minScore: minScore, ef: ef, filter: nil)
    }
    public func nearestCaptions(to vector: [Float], k: Int, minScore: Float?) async throws -> [ScoredImage] {
        try await nearestCaptions(to: vector, k: k, minScore: minScore, filter: nil)
    }
}

/// A search hit: an image's id and its cosine similarity to the query.
public struct ScoredImage: Sendable, Hashable {
    public var id: Int64
    public var score: Float
    public init(id: Int64, score: Float) {
        self.id = id
        self.score = score
    }
}

/// An image found under another path with the same content.
public struct ImageMove: Sendable, Equatable {
    public var id: Int64
    public var newPath: String
    public var mtimeNanoseconds: Int64
    public init(id: Int64, newPath: String, mtimeNanoseconds: Int64) {
        self.id = id
        self.newPath = newPath
        self.mtimeNanoseconds = mtimeNanoseconds
    }
}
