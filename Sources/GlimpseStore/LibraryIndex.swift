import Foundation
import GlimpseIndex

/// The vector index of a library: derived from SQLite (the source of truth), searched in memory, and kept in
/// `index/vectors.gidx` so that the next start need not rebuild it.
///
/// The file records the library's id and the generation it reflects. Opening loads it only when it belongs to this
/// library, has the model's dimension and is not ahead of the database, then applies the rows written and
/// removed since (cheap after a small re-index); anything else — missing, corrupt, another library's or a
/// re-created library's file — is rebuilt from every stored embedding, never trusted.
///
/// `catchUp()` is the one way the index follows the database: every writer (the indexer, the server's uploads and
/// deletions) writes SQLite first and then calls it, so a crash between the two loses nothing. `checkpoint()`
/// writes the file; the CLI calls it after a run, the server in the background and on shutdown.
/// Small libraries use exact search, large ones HNSW (`AutoIndex` switches by itself).
public final class LibraryIndex: @unchecked Sendable {
    public let library: Library
    /// The searchable index (thread-safe: searches share a lock that writers take only briefly).
    public let vectors: AutoIndex
    private let lock = NSLock()
    /// The library generation `vectors` reflects.
    private var generation: Int64
    /// The generation the file on disk holds (nil: no usable file).
    private var savedGeneration: Int64?
    private var writes = 0

    public static func path(_ library: Library) -> String {
        (library.indexDirectory as NSString).appendingPathComponent("vectors.gidx")
    }

    /// Opens the index of `library` (see the type's description). `dimension` is used when the library has no
    /// model recorded yet. Call `checkpoint()` to write the file if opening had to update or rebuild it.
    public init(library: Library, dimension fallbackDimension: Int? = nil,
                configuration: AutoIndex.Configuration = AutoIndex.Configuration()) throws {
        self.library = library
        try FileManager.default.createDirectory(atPath: library.indexDirectory, withIntermediateDirectories: true)
        let file = Self.path(library)
        let current = try library.generation()
        guard let dimension = try library.setting("model.dimension").flatMap(Int.init) ?? library.anyEmbeddingDimension()
                ?? fallbackDimension else {
            vectors = AutoIndex(dimension: 1, configuration: configuration)  // an empty library without a model yet
            generation = current
            return
        }
        if let header = try? IndexFileHeader.read(from: file), header.libraryID == library.id, header.dimension == dimension,
           Int64(header.generation) <= current,
           let loaded = try? AutoIndex.load(from: file, expectedDimension: dimension, configuration: configuration) {
            vectors = loaded
            generation = Int64(header.generation)
            savedGeneration = generation
            try catchUp()
            return
        }
        vectors = AutoIndex(dimension: dimension, configuration: configuration)
        generation = current
        var labels: [Int64] = [], batch: [[Float]] = []
        try library.forEachEmbedding { id, vector in
            labels.append(id); batch.append(vector)
            if labels.count == 50_000 { try vectors.add(labels: labels, vectors: batch); labels = []; batch = [] }
        }
        if !labels.isEmpty { try vectors.add(labels: labels, vectors: batch) }
        try catchUp()  // rows written while the rebuild read the table
    }

    /// Applies the embeddings written and the images removed since the index last looked; returns how many.
    @discardableResult
    public func catchUp() throws -> Int {
        try lock.withLock {
            let changes = try library.changes(since: generation)
            if !changes.removals.isEmpty { vectors.remove(labels: changes.removals) }
            if !changes.upserts.isEmpty { try vectors.add(labels: changes.upserts.map(\.0), vectors: changes.upserts.map(\.1)) }
            generation = max(generation, changes.generation)
            return changes.upserts.count + changes.removals.count
        }
    }

    /// True when the file lags what is in memory.
    public var needsCheckpoint: Bool { lock.withLock { savedGeneration != generation } }

    /// How many times this index wrote its file (tests check that small writes do not).
    public var fileWrites: Int { lock.withLock { writes } }

    /// Writes the file (atomically) when it lags what is in memory. Searches keep answering meanwhile.
    public func checkpoint() throws {
        try lock.withLock {
            guard savedGeneration != generation else { return }
            try vectors.save(to: Self.path(library), origin: IndexOrigin(libraryID: library.id, generation: UInt64(generation)))
            savedGeneration = generation
            writes += 1
        }
    }

    /// The generation of the library the in-memory index reflects.
    public var reflectedGeneration: Int64 { lock.withLock { generation } }
}
