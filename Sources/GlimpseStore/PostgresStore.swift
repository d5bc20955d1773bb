import Foundation
import GlimpseIndex
import Logging
import PostgresNIO

/// A collection kept in PostgreSQL with pgvector, shared by any number of indexers (`glimpse index --shard I/N`)
/// and servers on other machines. The database is the only state: a server holds nothing but caches.
///
/// Tables (in the URL's schema): `image` (one row per image; `embedding vector(D)` with an HNSW index using cosine
/// distance), `thumbnail` (JPEG bytes, so no server needs the indexer's disk), `collection_root`, `setting`, and
/// `glimpse_migration`, which records the named migrations that have run. Migrations and the first model binding
/// run under an advisory lock, so workers starting together do not race. Every write is one transaction; saves
/// upsert on the unique path, so concurrent workers never insert an image twice.
public final class PostgresStore: ImageStore, @unchecked Sendable {
    public let url: PostgresURL
    public var location: String { url.redacted }
    let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger = Logger(label: "glimpse.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private let lock = NSLock()
    /// The bound embedding dimension (read once).
    private var dimension: Int?
    /// Whether the HNSW index holds half-precision vectors: what the store was built with (its `index.vector`
    /// setting), else what the URL asks for.
    private var halfPrecision: Bool
    /// The `hnsw.ef_search` each pooled connection has set (session settings outlive one lease).
    private let efByConnection = LockedDictionary<PostgresConnection.ID, Int>()

    /// Connects (and creates the schema, the pgvector extension and the tables when `create`).
    public static func open(_ url: PostgresURL, create: Bool = true) async throws -> PostgresStore {
        let store = PostgresStore(url: url)
        do {
            try await store.migrate(create: create)
            if let built = try await store.setting("index.vector") { store.lock.withLock { store.halfPrecision = built == "halfvec" } }
            try await store.ensureIndex()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(url: PostgresURL) {
        self.url = url
        halfPrecision = url.halfPrecisionIndex
        var tls: PostgresClient.Configuration.TLS = .disable
        if url.tls != .disable {
            var configuration = TLSConfiguration.makeClientConfiguration()
            if url.tls != .verifyFull { configuration.certificateVerification = .none }
            tls = url.tls == .prefer ? .prefer(configuration) : .require(configuration)
        }
        var configuration = PostgresClient.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                                         database: url.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        configuration.options.maximumConnections = 8
        client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        runner = Task { [client] in await client.run() }
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    /// `"schema"."name"`.
    private func table(_ name: String) -> String { "\"\(url.schema)\".\"\(name)\"" }

    // MARK: Errors

    /// How long an operation may wait for a connection before the store is reported unavailable (the pool itself
    /// would keep retrying a server that is down).
    public var connectDeadline: Duration = .seconds(5)

    /// Runs `body` on a pooled connection, turning the driver's errors into `StoreError`s that name the store and
    /// say what happened; a connection not had within `connectDeadline` is `StoreError.unavailable`.
    @discardableResult
    private func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let leased = LeaseFlag()
        let (client, location, deadline) = (self.client, self.location, connectDeadline)
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await client.withConnection { connection in
                        leased.set()
                        return try await body(connection)
                    }
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    if !leased.isSet {
                        throw StoreError.unavailable(location: location, reason: "no connection within \(deadline) (is the server running and reachable?)")
                    }
                    return nil
                }
                while let result = try await group.next() {
                    if let value = result {
                        group.cancelAll()
                        return value
                    }
                }
                throw CancellationError()
            }
        } catch let error as PSQLError {
            throw describe(error)
        } catch let error as StoreError {
            throw error
        } catch let error as PostgresTransactionError {
            // What failed inside a transaction (a refused model binding, a query), not the transaction wrapper.
            switch error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError {
            case let inner as StoreError: throw inner
            case let inner as PSQLError: throw describe(inner)
            case let inner?: throw StoreError.queryFailed(location: location, reason: "\(inner)")
            case nil: throw StoreError.queryFailed(location: location, reason: "transaction failed")
            }
        } catch {
            throw StoreError.unavailable(location: location, reason: "\(error)")
        }
    }

    private func describe(_ error: PSQLError) -> StoreError {
        if error.code == .server, let message = error.serverInfo?[.message] {
            let state = error.serverInfo?[.sqlState] ?? ""
            // 57P01..57P03: the server is shutting down or starting; 53300: too many connections.
            if state.hasPrefix("57P") || state == "53300" { return .unavailable(location: location, reason: message) }
            var text = message
            if let detail = error.serverInfo?[.detail] { text += " (\(detail))" }
            if state == "28P01" || state == "28000" || state == "3D000" { return .unavailable(location: location, reason: text) }
            return .queryFailed(location: location, reason: text)
        }
        var reason = "\(error.code)"
        if let underlying = error.underlying { reason += ": \(underlying)" }
        return .unavailable(location: location, reason: reason)
    }

    // MARK: Migrations

    /// The named migrations, in order; each runs once, and `glimpse_migration` records it.
    private var migrations: [(name: String, statements: [String])] {
        let s = self
        return [
        ("v1: images, thumbnails, roots and settings", [
            """
            CREATE TABLE \(s.table("setting")) (key text PRIMARY KEY, value text NOT NULL)
            """,
            """
            CREATE TABLE \(s.table("image")) (
                id bigserial PRIMARY KEY,
                path text NOT NULL UNIQUE,
                size bigint NOT NULL,
                mtime_ns bigint NOT NULL,
                content_hash text NOT NULL,
                width integer NOT NULL,
                height integer NOT NULL,
                format text NOT NULL,
                indexed_at double precision NOT NULL,
                embedding vector NOT NULL)
            """,
            "CREATE INDEX image_content_hash ON \(s.table("image")) (content_hash)",
            """
            CREATE TABLE \(s.table("thumbnail")) (
                image_id bigint PRIMARY KEY REFERENCES \(s.table("image")) (id) ON DELETE CASCADE,
                jpeg bytea NOT NULL)
            """,
            "CREATE TABLE \(s.table("collection_root")) (path text PRIMARY KEY, position bigserial NOT NULL)",
            "INSERT INTO \(s.table("setting")) (key, value) VALUES ('library.id', '\(UUID().uuidString)')",
        ]),
        ("v2: captions", [
            """
            CREATE TABLE \(s.table("caption")) (
                image_id bigint PRIMARY KEY REFERENCES \(s.table("image")) (id) ON DELETE CASCADE,
                content_hash text NOT NULL,
                text text NOT NULL,
                embedding vector NOT NULL)
            """,
        ]),
        ("v3: list sources and metadata", [
            """
            ALTER TABLE \(s.table("image")) ADD COLUMN source_id text, ADD COLUMN url text, ADD COLUMN validator text,
                ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'
            """,
            "CREATE INDEX image_metadata ON \(s.table("image")) USING gin (metadata jsonb_path_ops)",
            "CREATE INDEX image_path_prefix ON \(s.table("image")) (path text_pattern_ops)",
        ]),
        ]
    }

    /// Runs the migrations not yet recorded, in order, in one transaction under an advisory lock.
    private func migrate(create: Bool) async throws {
        let migrations = self.migrations
        let names = migrations.map(\.name)
        try await run { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext('glimpse.migrate'))", logger: logger)
                let exists = try await connection.query("""
                    SELECT EXISTS (SELECT 1 FROM information_schema.tables
                                   WHERE table_schema = \(url.schema) AND table_name = 'glimpse_migration')
                    """, logger: logger).collect().first?.decode(Bool.self) ?? false
                let applied = exists
                    ? Set(try await strings("SELECT name FROM \(unescaped: table("glimpse_migration"))", on: connection)) : []
                if applied.isSuperset(of: names) { return }
                guard create else {
                    throw StoreError.notALibrary(path: location, reason: "no Glimpse tables in schema \(url.schema); run `glimpse index` first")
                }
                do {
                    try await connection.query("CREATE EXTENSION IF NOT EXISTS vector", logger: logger)
                } catch let error as PSQLError {
                    throw StoreError.missingExtension(location: location, name: "vector", reason: describe(error).reasonText)
                }
                try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: "\"\(url.schema)\"")", logger: logger)
                try await connection.query("""
                    CREATE TABLE IF NOT EXISTS \(unescaped: table("glimpse_migration")) (
                        name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                for migration in migrations where !applied.contains(migration.name) {
                    for statement in migration.statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
                    try await connection.query("INSERT INTO \(unescaped: table("glimpse_migration")) (name) VALUES (\(migration.name))",
                                                logger: logger)
                }
            }
        }
    }

    /// The migrations recorded as applied, in order (for tests and `glimpse model info`-like reports).
    public func appliedMigrations() async throws -> [String] {
        try await run { [self] connection in
            try await strings("SELECT name FROM \(unescaped: table("glimpse_migration")) ORDER BY applied_at, name", on: connection)
        }
    }

    /// Drops every table of this store (and its schema, unless that is `public`): the collection is gone. For tests
    /// and tools; the store is not used afterwards.
    public func destroy() async throws {
        try await run { [self] connection in
            if url.schema == "public" {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS " + ["caption", "thumbnail", "image", "collection_root", "setting", "glimpse_migration"]
                    .map(table).joined(separator: ", ") + " CASCADE"), logger: logger)
            } else {
                try await connection.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(url.schema)\" CASCADE"), logger: logger)
            }
        }
    }

    // MARK: Settings

    private func setting(_ key: String) async throws -> String? {
        try await run { [self] connection in
            try await connection.query("SELECT value FROM \(unescaped: table("setting")) WHERE key = \(key)", logger: logger)
                .collect().first?.decode(String.self)
        }
    }

    public func bindModel(name: String, fingerprint: String, dimension: Int) async throws {
        let half = lock.withLock { halfPrecision }
        try await run { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext('glimpse.bind'))", logger: logger)
                if let bound = try await modelBinding(on: connection) {
                    guard bound.fingerprint == fingerprint else {
                        throw StoreError.modelMismatch(library: location, libraryModel: bound.name, requested: name)
                    }
                    return
                }
                for (key, value) in [("model.name", name), ("model.fingerprint", fingerprint), ("model.dimension", String(dimension)),
                                     ("index.vector", half ? "halfvec" : "vector")] {
                    try await connection.query("""
                        INSERT INTO \(unescaped: table("setting")) (key, value) VALUES (\(key), \(value))
                        ON CONFLICT (key) DO UPDATE SET value = excluded.value
                        """, logger: logger)
                }
                // The dimension is known only now: type the column, then index it (cosine distance).
                try await connection.query(PostgresQuery(unsafeSQL:
                    "ALTER TABLE \(table("image")) ALTER COLUMN embedding TYPE vector(\(dimension))"), logger: logger)
                try await connection.query(createIndexQuery(dimension: dimension), logger: logger)
            }
        }
        lock.withLock { self.dimension = dimension }
    }

    public func model() async throws -> ModelBinding? {
        try await run { [self] connection in try await modelBinding(on: connection) }
    }

    public func recordPrecision(_ precision: String) async throws {
        let key = "precision." + precision
        try await run { [self] connection in
            try await connection.query("""
                INSERT INTO \(unescaped: table("setting")) (key, value) VALUES (\(key), '1') ON CONFLICT (key) DO NOTHING
                """, logger: logger)
        }
    }

    public func precisions() async throws -> [String] {
        try await run { [self] connection in
            try await settings(prefix: "precision.", on: connection).keys.map { String($0.dropFirst("precision.".count)) }.sorted()
        }
    }

    /// The settings whose keys start with `prefix` (e.g. "model."), read in one query.
    private func settings(prefix: String, on connection: PostgresConnection) async throws -> [String: String] {
        var settings: [String: String] = [:]
        for try await (key, value) in try await connection.query(
            "SELECT key, value FROM \(unescaped: table("setting")) WHERE starts_with(key, \(prefix))", logger: logger).decode((String, String).self) {
            settings[key] = value
        }
        return settings
    }

    /// The `model.*` settings, read in one query.
    private func modelBinding(on connection: PostgresConnection) async throws -> ModelBinding? {
        let settings = try await settings(prefix: "model.", on: connection)
        guard let name = settings["model.name"], let fingerprint = settings["model.fingerprint"],
              let dimension = settings["model.dimension"].flatMap(Int.init) else { return nil }
        return ModelBinding(name: name, fingerprint: fingerprint, dimension: dimension)
    }

    /// The first column of every row, as strings.
    private func strings(_ query: PostgresQuery, on connection: PostgresConnection) async throws -> [String] {
        var values: [String] = []
        for try await value in try await connection.query(query, logger: logger).decode(String.self) { values.append(value) }
        return values
    }

    private func boundDimension() async throws -> Int? {
        if let dimension = lock.withLock({ dimension }) { return dimension }
        let value = try await setting("model.dimension").flatMap(Int.init)
        lock.withLock { dimension = value }
        return value
    }

    public func collectionRoots() async throws -> [String] {
        try await run { [self] connection in
            try await strings("SELECT path FROM \(unescaped: table("collection_root")) ORDER BY position", on: connection)
        }
    }

    public func addCollectionRoots(_ roots: [String]) async throws {
        guard !roots.isEmpty else { return }
        try await run { [self] connection in
            try await connection.query("""
                INSERT INTO \(unescaped: table("collection_root")) (path)
                SELECT p FROM unnest(\(roots)::text[]) WITH ORDINALITY AS u(p, o) ORDER BY o
                ON CONFLICT (path) DO NOTHING
                """, logger: logger)
        }
    }

    // MARK: Catalog

    /// The columns of an `ImageRecord`, embedding as float4[].
    private static let recordColumns =
        "id, path, size, mtime_ns, content_hash, width, height, format, indexed_at, embedding::float4[], source_id, url, validator, metadata::text"

    private func records(_ query: PostgresQuery) async throws -> [ImageRecord] {
        try await run { [self] connection in
            var records: [ImageRecord] = []
            let rows = try await connection.query(query, logger: logger)
            for try await row in rows {
                let (id, path, size, mtime, hash, width, height, format, indexedAt, embedding) = try row.decode(
                    (Int64, String, Int64, Int64, String, Int32, Int32, String, Double, [Float]).self)
                let columns = row.makeRandomAccess()
                records.append(ImageRecord(id: id, path: path, size: size, mtimeNanoseconds: mtime, contentHash: hash, width: Int(width),
                                           height: Int(height), format: format, indexedAt: indexedAt, embedding: embedding,
                                           sourceID: try columns[10].decode(String?.self), url: try columns[11].decode(String?.self),
                                           validator: try columns[12].decode(String?.self),
                                           metadataJSON: MetadataJSON.encode(MetadataJSON.decode(try columns[13].decode(String.self)))))
            }
            return records
        }
    }

    public func imageCount() async throws -> Int {
        try await run { [self] connection in
            Int(try await connection.query("SELECT count(*) FROM \(unescaped: table("image"))", logger: logger)
                .collect().first?.decode(Int64.self) ?? 0)
        }
    }

    public func fileStates() async throws -> [StoredFileState] {
        try await run { [self] connection in
            var states: [StoredFileState] = []
            let rows = try await connection.query(
                "SELECT id, path, size, mtime_ns, content_hash FROM \(unescaped: table("image"))", logger: logger)
            for try await (id, path, size, mtime, hash) in rows.decode((Int64, String, Int64, Int64, String).self) {
                states.append(StoredFileState(id: id, path: path, size: size, mtimeNanoseconds: mtime, contentHash: hash))
            }
            return states
        }
    }

    public func image(id: Int64) async throws -> ImageRecord? {
        try await records("SELECT \(unescaped: Self.recordColumns) FROM \(unescaped: table("image")) WHERE id = \(id)").first
    }

    public func image(path: String) async throws -> ImageRecord? {
        try await records("SELECT \(unescaped: Self.recordColumns) FROM \(unescaped: table("image")) WHERE path = \(path)").first
    }

    public func images(ids: [Int64]) async throws -> [Int64: ImageRecord] {
        guard !ids.isEmpty else { return [:] }
        let found = try await records(
            "SELECT \(unescaped: Self.recordColumns) FROM \(unescaped: table("image")) WHERE id = ANY(\(ids)::int8[])")
        return Dictionary(found.map { ($0.id!, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// One multi-row upsert (arrays unnested server-side): a batch is one statement, one transaction.
    @discardableResult
    public func saveImages(_ records: [ImageRecord]) async throws -> [Int64] {
        guard !records.isEmpty else { return [] }
        guard let dimension = try await boundDimension() else {
            throw StoreError.notALibrary(path: location, reason: "no model bound yet")
        }
        var flat: [Float] = []
        flat.reserveCapacity(records.count * dimension)
        for record in records {
            let vector = record.vector
            guard vector.count == dimension else {
                throw StoreError.dimensionMismatch(library: location, expected: dimension, actual: vector.count)
            }
            flat += vector
        }
        let paths = records.map(\.path)
        let sizes = records.map(\.size), mtimes = records.map(\.mtimeNanoseconds), hashes = records.map(\.contentHash)
        let widths = records.map { Int32($0.width) }, heights = records.map { Int32($0.height) }
        let formats = records.map(\.format), indexedAt = records.map(\.indexedAt)
        // Text arrays carry no NULLs here: "" stands for none (no list id, URL or validator is empty).
        let sourceIDs = records.map { $0.sourceID ?? "" }, urls = records.map { $0.url ?? "" }, validators = records.map { $0.validator ?? "" }
        let metadata = records.map(\.metadata)
        let query: PostgresQuery = """
            INSERT INTO \(unescaped: table("image")) AS i (path, size, mtime_ns, content_hash, width, height, format, indexed_at, embedding,
                                                         source_id, url, validator, metadata)
            SELECT u.path, u.size, u.mtime, u.hash, u.width, u.height, u.format, u.indexed_at,
                   (\(flat)::float4[])[(u.o - 1) * \(dimension) + 1 : u.o * \(dimension)]::vector,
                   NULLIF(u.source_id, ''), NULLIF(u.url, ''), NULLIF(u.validator, ''), u.metadata::jsonb
            FROM unnest(\(paths)::text[], \(sizes)::int8[], \(mtimes)::int8[], \(hashes)::text[], \(widths)::int4[],
                        \(heights)::int4[], \(formats)::text[], \(indexedAt)::float8[], \(sourceIDs)::text[], \(urls)::text[],
                        \(validators)::text[], \(metadata)::text[])
                 WITH ORDINALITY AS u(path, size, mtime, hash, width, height, format, indexed_at, source_id, url, validator, metadata, o)
            ORDER BY u.o
            ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns, content_hash = excluded.content_hash,
                width = excluded.width, height = excluded.height, format = excluded.format, indexed_at = excluded.indexed_at,
                embedding = excluded.embedding, source_id = excluded.source_id, url = excluded.url, validator = excluded.validator,
                metadata = excluded.metadata
            RETURNING id, path
            """
        let ids: [String: Int64] = try await run { [self] connection in
            var ids: [String: Int64] = [:]
            for try await (id, path) in try await connection.query(query, logger: logger).decode((Int64, String).self) { ids[path] = id }
            return ids
        }
        return try paths.map { path in
            guard let id = ids[path] else { throw StoreError.queryFailed(location: location, reason: "no id returned for \(path)") }
            return id
        }
    }

    public func moveImages(_ moves: [ImageMove]) async throws {
        guard !moves.isEmpty else { return }
        try await run { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                for move in moves {
                    try await connection.query(
                        "DELETE FROM \(unescaped: table("image")) WHERE path = \(move.newPath) AND id <> \(move.id)", logger: logger)
                    try await connection.query("""
                        UPDATE \(unescaped: table("image")) SET path = \(move.newPath), mtime_ns = \(move.mtimeNanoseconds)
                        WHERE id = \(move.id)
                        """, logger: logger)
                }
            }
        }
    }

    public func removeImages(ids: [Int64]) async throws {
        guard !ids.isEmpty else { return }
        try await run { [self] connection in
            // Thumbnails go with their images (ON DELETE CASCADE).
            try await connection.query("DELETE FROM \(unescaped: table("image")) WHERE id = ANY(\(ids)::int8[])", logger: logger)
        }
    }

    public func sourceStates(pathPrefix prefix: String) async throws -> [StoredSourceState] {
        try await run { [self] connection in
            var states: [StoredSourceState] = []
            let rows = try await connection.query("""
                SELECT id, path, url, validator, content_hash, metadata::text FROM \(unescaped: table("image"))
                WHERE left(path, \(Int64(prefix.count))::int) = \(prefix)
                """, logger: logger)
            for try await (id, path, url, validator, hash, metadata) in rows.decode((Int64, String, String?, String?, String, String).self) {
                states.append(StoredSourceState(id: id, path: path, url: url, validator: validator, contentHash: hash,
                                                metadata: MetadataJSON.encode(MetadataJSON.decode(metadata))))
            }
            return states
        }
    }

    public func updateMetadata(_ updates: [(id: Int64, metadata: ImageMetadata)]) async throws {
        guard !updates.isEmpty else { return }
        let ids = updates.map(\.id), metadata = updates.map { MetadataJSON.encode($0.metadata) }
        try await run { [self] connection in
            try await connection.query("""
                UPDATE \(unescaped: table("image")) AS i SET metadata = u.metadata::jsonb
                FROM unnest(\(ids)::int8[], \(metadata)::text[]) AS u(id, metadata) WHERE i.id = u.id
                """, logger: logger)
        }
    }

    /// A filter as SQL on `alias.metadata`, its values bound from `$first` on.
    private func filterCondition(_ filter: MetadataFilter?, alias: String, first: Int, into query: inout PostgresQuery) -> String {
        guard let filter, !filter.isEmpty else { return "TRUE" }
        var sql = MetadataFilterSQL(dialect: .postgres, column: "\(alias).metadata", firstPlaceholder: first)
        let condition = sql.condition(filter)
        for value in sql.bindings {
            switch value {
            case let .string(text): query.binds.append(text)
            case let .number(number): query.binds.append(number)
            case let .bool(flag): query.binds.append(String(flag))
            case .list: query.binds.append(String?.none)
            }
        }
        return condition
    }

    public func forEachImage(batchSize: Int, _ body: ([ImageRecord]) async throws -> Void) async throws {
        var after: Int64 = 0
        while true {
            let batch = try await records("""
                SELECT \(unescaped: Self.recordColumns) FROM \(unescaped: table("image"))
                WHERE id > \(after) ORDER BY id LIMIT \(Int64(batchSize))
                """)
            guard let last = batch.last?.id else { return }
            try await body(batch)
            after = last
        }
    }

    // MARK: Vector search

    /// The HNSW index on the embeddings, cosine distance (pgvector's defaults m = 16, ef_construction = 64).
    private func createIndexQuery(dimension: Int) -> PostgresQuery {
        let indexed = lock.withLock({ halfPrecision }) ? "(embedding::halfvec(\(dimension))) halfvec_cosine_ops" : "embedding vector_cosine_ops"
        return PostgresQuery(unsafeSQL:
            "CREATE INDEX IF NOT EXISTS image_embedding_hnsw ON \(table("image")) USING hnsw (\(indexed)) WITH (m = 16, ef_construction = 64)")
    }

    /// Builds the HNSW index if it is missing (after a bulk load, or one that was killed), with more memory for the
    /// build than a session gets by default.
    public func ensureIndex() async throws {
        guard let dimension = try await boundDimension() else { return }
        let create = createIndexQuery(dimension: dimension)
        try await run { [self] connection in
            // Checked first: CREATE INDEX IF NOT EXISTS would still lock the table against writers.
            let exists = try await connection.query("""
                SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = \(url.schema) AND indexname = 'image_embedding_hnsw')
                """, logger: logger).collect().first?.decode(Bool.self) ?? false
            if exists { return }
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SET LOCAL maintenance_work_mem = '512MB'", logger: logger)
                try await connection.query(create, logger: logger)
            }
        }
    }

    /// Into an empty table the rows go first and the index is built once at the end (many times faster than growing
    /// the graph row by row); into a table that has rows, as usual. A load that fails or is killed leaves a table
    /// without its index, which the next bulk load or open builds again (searches stay correct meanwhile).
    public func bulkLoad(_ body: () async throws -> Void) async throws {
        guard try await imageCount() == 0 else { return try await body() }
        try await run { [self] connection in
            try await connection.query(PostgresQuery(unsafeSQL: "DROP INDEX IF EXISTS \"\(url.schema)\".image_embedding_hnsw"), logger: logger)
        }
        do { try await body() } catch {
            try? await ensureIndex()
            throw error
        }
        try await ensureIndex()
    }

    public var indexKind: String { lock.withLock { halfPrecision } ? "pgvector-hnsw-halfvec" : "pgvector-hnsw" }

    /// pgvector's HNSW scan returns at most `hnsw.ef_search` rows (1000 at most), so `ef` is raised to `k`; deeper
    /// pages than that continue with an iterative scan.
    public func nearest(to vector: [Float], k: Int, minScore: Float?, ef: Int?, filter: MetadataFilter?) async throws -> [ScoredImage] {
        guard k > 0 else { return [] }
        guard let dimension = try await boundDimension() else { return [] }
        guard vector.count == dimension else {
            throw StoreError.dimensionMismatch(library: location, expected: dimension, actual: vector.count)
        }
        let efSearch = min(max(ef ?? 40, k), 1000)
        let order: String = lock.withLock({ halfPrecision })
            ? "embedding::halfvec(\(dimension)) <=> ($1::float4[])::halfvec(\(dimension))"
            : "embedding <=> ($1::float4[])::vector(\(dimension))"
        if let filter, !filter.isEmpty {
            return try await nearestFiltered(to: vector, k: k, minScore: minScore, efSearch: efSearch, order: order, filter: filter)
        }
        var query = PostgresQuery(unsafeSQL: "SELECT id, 1 - (\(order)) AS score FROM \(table("image")) ORDER BY \(order) LIMIT \(k)")
        query.binds.append(vector)
        let search = query
        let found: [ScoredImage] = try await run { [self] connection in
            // One round trip in the steady state: ef is a session setting, set again only when this connection's
            // last search used another (a leased connection runs one operation at a time, so this is safe).
            if k > 1000 {
                try await connection.query("SET hnsw.iterative_scan = strict_order", logger: logger)
                efByConnection.withLock { $0[connection.id] = nil }
            }
            if efByConnection.withLock({ $0[connection.id] }) != efSearch {
                try await connection.query(PostgresQuery(unsafeSQL: "SET hnsw.ef_search = \(efSearch)"), logger: logger)
                efByConnection.withLock { $0[connection.id] = efSearch }
            }
            var found: [ScoredImage] = []
            for try await (id, score) in try await connection.query(search, logger: logger).decode((Int64, Double).self) {
                found.append(ScoredImage(id: id, score: Float(score)))
            }
            if k > 1000 { try await connection.query("RESET hnsw.iterative_scan", logger: logger) }
            return found
        }
        guard let minScore else { return found }
        return found.filter { $0.score >= minScore }
    }

    /// A filtered search, in one transaction. The filter's matches are counted first: up to
    /// `AutoIndex.directScoringLimit` of them are scored exactly (a materialised subquery the HNSW index cannot
    /// serve); more traverse the HNSW index with pgvector's iterative scan, which goes on past `ef_search` until
    /// `k` rows pass the filter, so a selective filter still returns `k` results.
    private func nearestFiltered(to vector: [Float], k: Int, minScore: Float?, efSearch: Int, order: String,
                                 filter: MetadataFilter) async throws -> [ScoredImage] {
        var counting = PostgresQuery(unsafeSQL: "")
        let countCondition = filterCondition(filter, alias: "i", first: 1, into: &counting)
        // The table's size from the planner's statistics (no second count over the whole table on every search);
        // -1 before the first ANALYZE, when the matches stand in for it.
        counting.sql = """
            SELECT count(*), (SELECT reltuples::int8 FROM pg_class WHERE oid = to_regclass('\(table("image"))'))
            FROM \(table("image")) i WHERE \(countCondition)
            """
        var search = PostgresQuery(unsafeSQL: "")
        search.binds.append(vector)
        let condition = filterCondition(filter, alias: "i", first: 2, into: &search)
        let counted = counting, prepared = search
        let found: [ScoredImage] = try await run { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                var matches: Int64 = 0, total: Int64 = 0
                for try await (m, t) in try await connection.query(counted, logger: logger).decode((Int64, Int64?).self) {
                    matches = m; total = max(t ?? 0, m)
                }
                guard matches > 0 else { return [] }
                var query = prepared
                if Double(matches) <= AutoIndex.directScoringLimit(ef: efSearch, count: Int(total)) {
                    query.sql = """
                        WITH m AS MATERIALIZED (SELECT id, embedding FROM \(table("image")) i WHERE \(condition))
                        SELECT id, 1 - (\(order)) AS score FROM m ORDER BY \(order), id LIMIT \(k)
                        """
                } else {
                    try await connection.query("SET LOCAL hnsw.iterative_scan = strict_order", logger: logger)
                    try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL hnsw.ef_search = \(efSearch)"), logger: logger)
                    try await connection.query("SET LOCAL hnsw.max_scan_tuples = 1000000", logger: logger)
                    query.sql = "SELECT id, 1 - (\(order)) AS score FROM \(table("image")) i WHERE \(condition) ORDER BY \(order) LIMIT \(k)"
                }
                var found: [ScoredImage] = []
                for try await (id, score) in try await connection.query(query, logger: logger).decode((Int64, Double).self) {
                    found.append(ScoredImage(id: id, score: Float(score)))
                }
                return found
            }
        }
        // SET LOCAL ended with the transaction; this connection's remembered ef_search still holds.
        guard let minScore else { return found }
        return found.filter { $0.score >= minScore }
    }

    public func refresh() async throws {}
    public func checkpoint() async throws {}

    // MARK: Captions

    public func bindCaptionModels(_ binding: CaptionBinding) async throws {
        try await run { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext('glimpse.bind'))", logger: logger)
                if let bound = try await captionBinding(on: connection) {
                    guard bound.sentenceFingerprint == binding.sentenceFingerprint, bound.dimension == binding.dimension else {
                        throw StoreError.captionModelMismatch(library: location, libraryModel: bound.sentenceModel, requested: binding.sentenceModel)
                    }
                    if bound.captionModel == binding.captionModel { return }
                }
                for (key, value) in [("caption.model", binding.captionModel), ("caption.sentenceModel", binding.sentenceModel),
                                     ("caption.sentenceFingerprint", binding.sentenceFingerprint), ("caption.dimension", String(binding.dimension))] {
                    try await connection.query("""
                        INSERT INTO \(unescaped: table("setting")) (key, value) VALUES (\(key), \(value))
                        ON CONFLICT (key) DO UPDATE SET value = excluded.value
                        """, logger: logger)
                }
            }
        }
    }

    public func captionModels() async throws -> CaptionBinding? {
        try await run { [self] connection in try await captionBinding(on: connection) }
    }

    private func captionBinding(on connection: PostgresConnection) async throws -> CaptionBinding? {
        let settings = try await settings(prefix: "caption.", on: connection)
        guard let model = settings["caption.model"], let sentence = settings["caption.sentenceModel"],
              let fingerprint = settings["caption.sentenceFingerprint"], let dimension = settings["caption.dimension"].flatMap(Int.init) else { return nil }
        return CaptionBinding(captionModel: model, sentenceModel: sentence, sentenceFingerprint: fingerprint, dimension: dimension)
    }

    public func imagesNeedingCaptions() async throws -> [CaptionTarget] {
        try await run { [self] connection in
            var targets: [CaptionTarget] = []
            let rows = try await connection.query("""
                SELECT i.id, i.path, i.content_hash FROM \(unescaped: table("image")) i
                LEFT JOIN \(unescaped: table("caption")) c ON c.image_id = i.id
                WHERE c.image_id IS NULL OR c.content_hash <> i.content_hash ORDER BY i.id
                """, logger: logger)
            for try await (id, path, hash) in rows.decode((Int64, String, String).self) {
                targets.append(CaptionTarget(id: id, path: path, contentHash: hash))
            }
            return targets
        }
    }

    /// One multi-row upsert; captions of images removed meanwhile are dropped by the join.
    public func saveCaptions(_ captions: [ImageCaption]) async throws {
        guard let dimension = captions.first?.embedding.count else { return }
        var flat: [Float] = []
        flat.reserveCapacity(captions.count * dimension)
        for caption in captions {
            guard caption.embedding.count == dimension else {
                throw StoreError.dimensionMismatch(library: location, expected: dimension, actual: caption.embedding.count)
            }
            flat += caption.embedding
        }
        let ids = captions.map(\.imageId), hashes = captions.map(\.contentHash), texts = captions.map(\.text), values = flat
        try await run { [self] connection in
            try await connection.query("""
                INSERT INTO \(unescaped: table("caption")) (image_id, content_hash, text, embedding)
                SELECT u.id, u.hash, u.text, (\(values)::float4[])[(u.o - 1) * \(dimension) + 1 : u.o * \(dimension)]::vector
                FROM unnest(\(ids)::int8[], \(hashes)::text[], \(texts)::text[]) WITH ORDINALITY AS u(id, hash, text, o)
                JOIN \(unescaped: table("image")) i ON i.id = u.id
                ON CONFLICT (image_id) DO UPDATE SET content_hash = excluded.content_hash, text = excluded.text, embedding = excluded.embedding
                """, logger: logger)
        }
    }

    public func captions(ids: [Int64]) async throws -> [Int64: String] {
        guard !ids.isEmpty else { return [:] }
        return try await run { [self] connection in
            var out: [Int64: String] = [:]
            let rows = try await connection.query("""
                SELECT c.image_id, c.text FROM \(unescaped: table("caption")) c JOIN \(unescaped: table("image")) i ON i.id = c.image_id
                WHERE c.content_hash = i.content_hash AND c.image_id = ANY(\(ids)::int8[])
                """, logger: logger)
            for try await (id, text) in rows.decode((Int64, String).self) { out[id] = text }
            return out
        }
    }

    public func captionEmbeddings(ids: [Int64]) async throws -> [Int64: [Float]] {
        guard !ids.isEmpty else { return [:] }
        return try await run { [self] connection in
            var out: [Int64: [Float]] = [:]
            let rows = try await connection.query("""
                SELECT c.image_id, c.embedding::float4[] FROM \(unescaped: table("caption")) c JOIN \(unescaped: table("image")) i ON i.id = c.image_id
                WHERE c.content_hash = i.content_hash AND c.image_id = ANY(\(ids)::int8[])
                """, logger: logger)
            for try await (id, vector) in rows.decode((Int64, [Float]).self) { out[id] = vector }
            return out
        }
    }

    public func captionCount() async throws -> Int {
        try await run { [self] connection in
            Int(try await connection.query("""
                SELECT count(*) FROM \(unescaped: table("caption")) c JOIN \(unescaped: table("image")) i ON i.id = c.image_id
                WHERE c.content_hash = i.content_hash
                """, logger: logger).collect().first?.decode(Int64.self) ?? 0)
        }
    }

    /// Exact cosine search over the caption embeddings (a sequential scan: captions are short-listed by the
    /// image path's HNSW index in a hybrid search, and a caption-only search of a large store is rarer).
    public func nearestCaptions(to vector: [Float], k: Int, minScore: Float?, filter: MetadataFilter?) async throws -> [ScoredImage] {
        guard k > 0, !vector.isEmpty else { return [] }
        var query = PostgresQuery(unsafeSQL: "")
        query.binds.append(vector)
        let condition = filterCondition(filter, alias: "i", first: 2, into: &query)
        query.sql = """
            SELECT c.image_id, 1 - (c.embedding <=> $1::float4[]::vector) AS score
            FROM \(table("caption")) c JOIN \(table("image")) i ON i.id = c.image_id
            WHERE c.content_hash = i.content_hash AND vector_dims(c.embedding) = \(vector.count) AND \(condition)
            ORDER BY c.embedding <=> $1::float4[]::vector LIMIT \(k)
            """
        let search = query
        let found: [ScoredImage] = try await run { [self] connection in
            var found: [ScoredImage] = []
            for try await (id, score) in try await connection.query(search, logger: logger).decode((Int64, Double).self) {
                found.append(ScoredImage(id: id, score: Float(score)))
            }
            return found
        }
        guard let minScore else { return found }
        return found.filter { $0.score >= minScore }
    }

    // MARK: Thumbnails

    public func thumbnail(id: Int64) async throws -> Data? {
        try await run { [self] connection in
            try await connection.query("SELECT jpeg FROM \(unescaped: table("thumbnail")) WHERE image_id = \(id)", logger: logger)
                .collect().first?.decode(Data.self)
        }
    }

    public func saveThumbnails(_ thumbnails: [(id: Int64, jpeg: Data)]) async throws {
        guard !thumbnails.isEmpty else { return }
        try await run { [self] connection in
            try await connection.withTransaction(logger: logger) { connection in
                for (id, jpeg) in thumbnails {
                    // An image removed meanwhile has no row to refer to: its thumbnail is dropped.
                    try await connection.query("""
                        INSERT INTO \(unescaped: table("thumbnail")) (image_id, jpeg)
                        SELECT id, \(jpeg) FROM \(unescaped: table("image")) WHERE id = \(id)
                        ON CONFLICT (image_id) DO UPDATE SET jpeg = excluded.jpeg
                        """, logger: logger)
                }
            }
        }
    }
}

extension StoreError {
    /// The reason part of an error, without the location.
    var reasonText: String {
        switch self {
        case let .unavailable(_, reason), let .queryFailed(_, reason), let .badLocation(_, reason), let .notALibrary(_, reason): reason
        default: description
        }
    }
}

/// Set once a connection is leased (read by the deadline watchdog).
private final class LeaseFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// A dictionary behind a lock.
private final class LockedDictionary<Key: Hashable, Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Key: Value] = [:]
    func withLock<T>(_ body: (inout [Key: Value]) -> T) -> T { lock.withLock { body(&values) } }
}
