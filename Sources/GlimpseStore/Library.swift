import Foundation
import GRDB

/// A Glimpse library: one directory holding the SQLite database (the source of truth: images and their
/// embeddings) and the vector index files derived from it.
///
/// One `Library` owns the database connection; writes are methods named for what they do, each one
/// transaction, so a crash (even kill -9) leaves every committed change and nothing half-written (WAL mode).
public final class Library: @unchecked Sendable {
    public let directory: String
    /// WAL with a pool of readers: reads (searches, the server) never wait for a running index job's writes.
    let database: DatabasePool
    /// Made when the library is created and never changed: derived files (the vector index) record it, so a file
    /// from another library, or from an earlier library at the same path, is never mistaken for this one's.
    public private(set) var id = UUID()
    /// Work done by reads that scale with the library (rows fetched), for tests and metrics.
    public let statistics = LibraryStatistics()

    public static let databaseFileName = "library.sqlite"
    public var indexDirectory: String { (directory as NSString).appendingPathComponent("index") }

    /// `$GLIMPSE_LIBRARY`, else `$XDG_DATA_HOME/glimpse/library`, else `~/.local/share/glimpse/library`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = environment["GLIMPSE_LIBRARY"], !explicit.isEmpty { return explicit }
        let dataHome = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".local/share")
        return (dataHome as NSString).appendingPathComponent("glimpse/library")
    }

    /// Opens the library at `directory`, creating it (and running migrations) when `create` is true.
    public init(directory: String, create: Bool = true) throws {
        self.directory = directory
        let fm = FileManager.default
        let databasePath = (directory as NSString).appendingPathComponent(Self.databaseFileName)
        if !fm.fileExists(atPath: databasePath) {
            guard create else { throw StoreError.notALibrary(path: directory, reason: "no \(Self.databaseFileName); run `glimpse index` first") }
            do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
                throw StoreError.cannotCreate(path: directory, reason: error.localizedDescription)
            }
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        do {
            // The pool switches a new file to WAL (once: a WAL database stays WAL), so readers of a library that
            // another process is indexing never fight the writer for it.
            database = try DatabasePool(path: databasePath, configuration: configuration)
            if try !database.read({ db in try Self.migrator.hasCompletedMigrations(db) }) {
                // Two processes opening a new library at once (an indexer and a reader) would both see the
                // migrations pending and both run them; the second would fail on tables that now exist.
                try Self.withMigrationLock(directory: directory) { try Self.migrator.migrate(database) }
            }
            guard let text = try setting(Self.idKey), let id = UUID(uuidString: text) else {
                throw StoreError.notALibrary(path: databasePath, reason: "the library has no valid id")
            }
            self.id = id
        } catch let error as DatabaseError {
            throw StoreError.notALibrary(path: databasePath, reason: error.message ?? "\(error)")
        }
    }

    static let idKey = "library.id"

    /// Runs `body` holding an exclusive `flock` on `library.lock` in the library folder: one process at a time.
    static func withMigrationLock<T>(directory: String, _ body: () throws -> T) throws -> T {
        let path = (directory as NSString).appendingPathComponent("library.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.cannotCreate(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: images and settings") { db in
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: ImageRecord.databaseTableName) { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("path", .text).notNull().unique()
                t.column("size", .integer).notNull()
                t.column("mtimeNanoseconds", .integer).notNull()
                t.column("contentHash", .text).notNull().indexed()
                t.column("width", .integer).notNull()
                t.column("height", .integer).notNull()
                t.column("format", .text).notNull()
                t.column("indexedAt", .double).notNull()
                t.column("embedding", .blob).notNull()
            }
        }
        migrator.registerMigration("v2: change generations for incremental index updates") { db in
            try db.alter(table: ImageRecord.databaseTableName) { t in t.add(column: "generation", .integer).notNull().defaults(to: 0) }
            try db.create(index: "image_on_generation", on: ImageRecord.databaseTableName, columns: ["generation"])
            try db.create(table: "removal") { t in
                t.column("imageId", .integer).notNull()
                t.column("generation", .integer).notNull().indexed()
            }
        }
        migrator.registerMigration("v3: library identity") { db in
            try db.execute(sql: "INSERT OR IGNORE INTO setting (key, value) VALUES (?, ?)", arguments: [idKey, UUID().uuidString])
        }
        migrator.registerMigration("v4: captions") { db in
            try db.create(table: "caption") { t in
                t.primaryKey("imageId", .integer).references(ImageRecord.databaseTableName, onDelete: .cascade)
                t.column("contentHash", .text).notNull()
                t.column("text", .text).notNull()
                t.column("embedding", .blob).notNull()
            }
        }
        migrator.registerMigration("v5: list sources and metadata") { db in
            try db.alter(table: ImageRecord.databaseTableName) { t in
                t.add(column: "sourceID", .text)
                t.add(column: "url", .text)
                t.add(column: "validator", .text)
                t.add(column: "metadata", .text).notNull().defaults(to: "{}")
            }
        }
        return migrator
    }

    // MARK: Settings

    public func setting(_ key: String) throws -> String? {
        try database.read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    /// The keys of the settings whose keys start with `prefix`.
    public func settingKeys(prefix: String) throws -> [String] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT key FROM setting WHERE substr(key, 1, ?) = ?", arguments: [prefix.utf8.count, prefix])
        }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try database.write { db in
            try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }

    /// The model a library was built with; set on first use, checked afterwards.
    public func bindModel(name: String, fingerprint: String, dimension: Int) throws {
        if let existing = try setting("model.fingerprint") {
            guard existing == fingerprint else {
                throw StoreError.modelMismatch(library: directory, libraryModel: try setting("model.name") ?? existing, requested: name)
            }
            return
        }
        try database.write { db in
            for (k, v) in [("model.name", name), ("model.fingerprint", fingerprint), ("model.dimension", String(dimension))] {
                try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", arguments: [k, v])
            }
        }
    }

    public var modelName: String? { get throws { try setting("model.name") } }

    /// Bumped by every write; derived files (the vector index) record the generation they were built from.
    public func generation() throws -> Int64 {
        try database.read { db in try Self.generation(db) }
    }

    static func generation(_ db: Database) throws -> Int64 {
        Int64(try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = 'generation'") ?? "0") ?? 0
    }

    /// Starts a new generation and returns it.
    @discardableResult
    static func bumpGeneration(_ db: Database) throws -> Int64 {
        try db.execute(sql: "INSERT INTO setting (key, value) VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
        return try generation(db)
    }

    /// Embeddings written, and images removed, after generation `since` (for updating a vector index in place),
    /// and the generation they bring the index to, read in one snapshot.
    public func changes(since: Int64) throws -> (upserts: [(Int64, [Float])], removals: [Int64], generation: Int64) {
        try database.read { db in
            let upserts = try Row.fetchAll(db, sql: "SELECT id, embedding FROM image WHERE generation > ?", arguments: [since]).map {
                (($0["id"] as Int64), ImageRecord.decode($0["embedding"]))
            }
            let removals = try Int64.fetchAll(db, sql: "SELECT imageId FROM removal WHERE generation > ?", arguments: [since])
            statistics.read(rows: upserts.count + removals.count)
            return (upserts, removals, try Self.generation(db))
        }
    }

    // MARK: Images

    public func imageCount() throws -> Int { try database.read { db in try ImageRecord.fetchCount(db) } }

    /// Path, size, mtime and hash of every stored image (for change detection).
    public func fileStates() throws -> [StoredFileState] {
        let states = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT id, path, size, mtimeNanoseconds, contentHash FROM image").map {
                StoredFileState(id: $0["id"], path: $0["path"], size: $0["size"], mtimeNanoseconds: $0["mtimeNanoseconds"], contentHash: $0["contentHash"])
            }
        }
        statistics.read(rows: states.count)
        return states
    }

    /// Length of some stored embedding (nil when the library is empty).
    public func anyEmbeddingDimension() throws -> Int? {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT length(embedding) / 4 FROM image LIMIT 1") }
    }

    public func image(id: Int64) throws -> ImageRecord? { try database.read { db in try ImageRecord.fetchOne(db, key: id) } }

    public func image(path: String) throws -> ImageRecord? {
        try database.read { db in try ImageRecord.filter(ImageRecord.Columns.path == path).fetchOne(db) }
    }

    public func images(ids: [Int64]) throws -> [Int64: ImageRecord] {
        try database.read { db in
            Dictionary(uniqueKeysWithValues: try ImageRecord.fetchAll(db, keys: ids).compactMap { r in r.id.map { ($0, r) } })
        }
    }

    /// Up to `limit` images with ids above `after`, in id order (for paging through the whole library).
    public func images(after: Int64, limit: Int) throws -> [ImageRecord] {
        try database.read { db in
            try ImageRecord.filter(ImageRecord.Columns.id > after).order(ImageRecord.Columns.id).limit(limit).fetchAll(db)
        }
    }

    /// Calls `body` with every (id, embedding), streaming so that a million rows never sit in memory twice.
    public func forEachEmbedding(_ body: (Int64, [Float]) throws -> Void) throws {
        try database.read { db in
            let cursor = try Row.fetchCursor(db, sql: "SELECT id, embedding FROM image ORDER BY id")
            while let row = try cursor.next() {
                let data: Data = row["embedding"]
                statistics.read(rows: 1)
                try body(row["id"], ImageRecord.decode(data))
            }
        }
    }

    /// Images whose path starts with `prefix`, with what re-reading their list compares.
    public func sourceStates(pathPrefix prefix: String) throws -> [StoredSourceState] {
        let states = try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, path, url, validator, contentHash, metadata FROM image WHERE substr(path, 1, ?) = ?
                """, arguments: [prefix.count, prefix]).map {
                StoredSourceState(id: $0["id"], path: $0["path"], url: $0["url"], validator: $0["validator"],
                                  contentHash: $0["contentHash"], metadata: $0["metadata"])
            }
        }
        statistics.read(rows: states.count)
        return states
    }

    /// Replaces images' metadata in one transaction (the vectors are untouched, so no new generation).
    public func updateMetadata(_ updates: [(id: Int64, metadata: ImageMetadata)]) throws {
        guard !updates.isEmpty else { return }
        try database.write { db in
            for update in updates {
                try db.execute(sql: "UPDATE image SET metadata = ? WHERE id = ?", arguments: [MetadataJSON.encode(update.metadata), update.id])
            }
        }
    }

    /// Ids of the images whose metadata satisfies `filter`, ascending.
    public func imageIDs(matching filter: MetadataFilter) throws -> [Int64] {
        var sql = MetadataFilterSQL(dialect: .sqlite, column: "image.metadata")
        let condition = sql.condition(filter)
        let arguments = StatementArguments(sql.bindings.map(Self.databaseValue))
        let ids = try database.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM image WHERE \(condition) ORDER BY id", arguments: arguments)
        }
        statistics.read(rows: ids.count)
        return ids
    }

    static func databaseValue(_ value: MetadataValue) -> DatabaseValue {
        switch value {
        case let .string(s): s.databaseValue
        case let .number(n): n.databaseValue
        case let .bool(b): b.databaseValue
        case .list: DatabaseValue.null
        }
    }

    /// Inserts new images or replaces changed ones (matched by path), in one transaction.
    @discardableResult
    public func saveImages(_ records: [ImageRecord]) throws -> [Int64] {
        try database.write { db in
            var ids: [Int64] = []
            let generation = try Self.bumpGeneration(db)
            for var record in records {
                if let existing = try ImageRecord.filter(ImageRecord.Columns.path == record.path).fetchOne(db) {
                    record.id = existing.id
                    try record.update(db)
                } else {
                    record.id = nil
                    try record.insert(db)
                }
                ids.append(record.id!)
                try db.execute(sql: "UPDATE image SET generation = ? WHERE id = ?", arguments: [generation, record.id!])
            }
            return ids
        }
    }

    /// Records that images moved: new paths (and mtime, which a copy changes), same content and embedding.
    public func moveImages(_ moves: [(id: Int64, newPath: String, mtimeNanoseconds: Int64)]) throws {
        guard !moves.isEmpty else { return }
        try database.write { db in
            let generation = try Self.bumpGeneration(db)
            for move in moves {
                for replaced in try Int64.fetchAll(db, sql: "SELECT id FROM image WHERE path = ? AND id != ?", arguments: [move.newPath, move.id]) {
                    try db.execute(sql: "INSERT INTO removal (imageId, generation) VALUES (?, ?)", arguments: [replaced, generation])
                }
                try db.execute(sql: "DELETE FROM image WHERE path = ? AND id != ?", arguments: [move.newPath, move.id])
                try db.execute(sql: "UPDATE image SET path = ?, mtimeNanoseconds = ? WHERE id = ?",
                               arguments: [move.newPath, move.mtimeNanoseconds, move.id])
            }
        }
    }

    public func removeImages(ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try database.write { db in
            let generation = try Self.bumpGeneration(db)
            _ = try ImageRecord.deleteAll(db, keys: ids)
            for id in ids { try db.execute(sql: "INSERT INTO removal (imageId, generation) VALUES (?, ?)", arguments: [id, generation]) }
        }
    }

    // MARK: Captions

    /// Records the caption models on first use; a different sentence encoder afterwards is refused.
    public func bindCaptionModels(_ binding: CaptionBinding) throws {
        if let existing = try captionModels() {
            guard existing.sentenceFingerprint == binding.sentenceFingerprint, existing.dimension == binding.dimension else {
                throw StoreError.captionModelMismatch(library: directory, libraryModel: existing.sentenceModel, requested: binding.sentenceModel)
            }
            if existing.captionModel != binding.captionModel { try setSetting("caption.model", binding.captionModel) }
            return
        }
        try database.write { db in
            for (k, v) in [("caption.model", binding.captionModel), ("caption.sentenceModel", binding.sentenceModel),
                           ("caption.sentenceFingerprint", binding.sentenceFingerprint), ("caption.dimension", String(binding.dimension))] {
                try db.execute(sql: "INSERT OR REPLACE INTO setting (key, value) VALUES (?, ?)", arguments: [k, v])
            }
        }
    }

    public func captionModels() throws -> CaptionBinding? {
        guard let model = try setting("caption.model"), let sentence = try setting("caption.sentenceModel"),
              let fingerprint = try setting("caption.sentenceFingerprint"),
              let dimension = try setting("caption.dimension").flatMap(Int.init) else { return nil }
        return CaptionBinding(captionModel: model, sentenceModel: sentence, sentenceFingerprint: fingerprint, dimension: dimension)
    }

    public func imagesNeedingCaptions() throws -> [CaptionTarget] {
        try database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT image.id, image.path, image.contentHash FROM image LEFT JOIN caption ON caption.imageId = image.id
                WHERE caption.imageId IS NULL OR caption.contentHash != image.contentHash ORDER BY image.id
                """).map { CaptionTarget(id: $0["id"], path: $0["path"], contentHash: $0["contentHash"]) }
        }
    }

    /// Saves captions in one transaction (a new generation, so that caption searches see them); captions of
    /// images removed meanwhile are dropped.
    public func saveCaptions(_ captions: [ImageCaption]) throws {
        guard !captions.isEmpty else { return }
        try database.write { db in
            try Self.bumpGeneration(db)
            for caption in captions {
                try db.execute(sql: """
                    INSERT INTO caption (imageId, contentHash, text, embedding) SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM image WHERE id = ?)
                    ON CONFLICT(imageId) DO UPDATE SET contentHash = excluded.contentHash, text = excluded.text, embedding = excluded.embedding
                    """, arguments: [caption.imageId, caption.contentHash, caption.text, ImageRecord.encode(caption.embedding), caption.imageId])
            }
        }
    }

    public func captions(ids: [Int64]) throws -> [Int64: String] {
        guard !ids.isEmpty else { return [:] }
        return try database.read { db in
            var out: [Int64: String] = [:]
            for chunk in stride(from: 0, to: ids.count, by: 500).map({ Array(ids[$0..<min($0 + 500, ids.count)]) }) {
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                for row in try Row.fetchAll(db, sql: """
                    SELECT caption.imageId, caption.text FROM caption JOIN image ON image.id = caption.imageId
                    WHERE caption.contentHash = image.contentHash AND caption.imageId IN (\(marks))
                    """, arguments: StatementArguments(chunk)) {
                    out[row["imageId"]] = row["text"]
                }
            }
            return out
        }
    }

    public func captionCount() throws -> Int {
        try database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM caption JOIN image ON image.id = caption.imageId WHERE caption.contentHash = image.contentHash") ?? 0
        }
    }

    /// Every current caption embedding, and the generation read with them.
    public func captionEmbeddings() throws -> (ids: [Int64], vectors: [[Float]], generation: Int64) {
        try database.read { db in
            var ids: [Int64] = [], vectors: [[Float]] = []
            let cursor = try Row.fetchCursor(db, sql: """
                SELECT caption.imageId, caption.embedding FROM caption JOIN image ON image.id = caption.imageId
                WHERE caption.contentHash = image.contentHash ORDER BY caption.imageId
                """)
            while let row = try cursor.next() {
                ids.append(row["imageId"]); vectors.append(ImageRecord.decode(row["embedding"]))
            }
            statistics.read(rows: ids.count)
            return (ids, vectors, try Self.generation(db))
        }
    }
}
