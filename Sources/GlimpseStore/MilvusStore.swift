import Foundation
import GlimpseIndex
import MilvusProtocol

/// A collection kept in Milvus, the distributed vector database: shards and replicas of the vectors across a
/// cluster's machines, so a collection can outgrow any single one. Milvus is the only state (no catalog elsewhere):
/// any number of indexers and servers share it, as with PostgreSQL.
///
/// Collections, for `milvus://host:19530/NAME`:
/// - `NAME`: one row per image — `id` (primary key), the catalog fields (`path`, `size`, `mtime_ns`,
///   `content_hash`, `width`, `height`, `format`, `indexed_at`, `source_id`, `url`, `validator`), `metadata` as a
///   JSON field (filters run inside Milvus), and `embedding` (`FLOAT_VECTOR` of the model's dimension, HNSW, COSINE);
/// - `NAME_glimpse_settings` (the model binding, the collection roots), `NAME_glimpse_captions` (one caption and
///   its sentence embedding per image, FLAT index: exact) and `NAME_glimpse_thumbnails` (JPEG, base64).
///
/// Milvus has no transactions and no sequences, so:
/// - Every write is one request (an upsert or a delete), which Milvus applies whole or not at all.
/// - An image's id comes from its path (a 53-bit hash, so JSON clients and JavaScript keep it exact), probed past a
///   collision; two workers saving the same new path compute the same id and their upserts leave one row. A move
///   keeps the id (an upsert of the row with its new path).
/// - A changed image's caption is deleted with the change, so every stored caption is current.
///
/// Reads: catalog queries are `Strong` (they see every acknowledged write: change detection after a kill -9, other
/// shard workers). Searches use the URL's level (`Bounded` by default: no wait for the newest writes, which a
/// server shows within Milvus's staleness bound, 5 s by default), except that this process's own writes, and
/// everything before its last `refresh()`, are always seen (the write's timestamp is the search's guarantee).
public final class MilvusStore: ImageStore, @unchecked Sendable {
    public let url: MilvusURL
    public var location: String { url.redacted }
    let client: MilvusClient
    private let lock = NSLock()
    /// The newest timestamp this process must see in its searches: its last write, or its last refresh.
    private var seen: UInt64 = 0
    /// Set by `refresh()` on a server that reports no read timestamps.
    private var strongSearches = false
    /// This process wrote since its last flush.
    private var unflushed = false
    /// The caption models, once read (`captionModels()`).
    private var captionBinding: CaptionBinding?
    private var dimension: Int?

    private var images: String { url.collection }
    private var settings: String { url.collection + "_glimpse_settings" }
    private var captions: String { url.collection + "_glimpse_captions" }
    private var thumbnails: String { url.collection + "_glimpse_thumbnails" }

    /// Milvus's cap on a query's or a search's rows (offset + limit), `quotaAndLimits.maxQueryResultWindow`.
    static let maxResultWindow = 16_384
    /// The longest VARCHAR Milvus stores.
    static let maxVarChar = 65_535

    /// Connects; creates the settings collection of a new store when `create` (the image collection is created when
    /// the model, and so the dimension, is bound).
    public static func open(_ url: MilvusURL, create: Bool = true) async throws -> MilvusStore {
        let store = try MilvusStore(url: url)
        do {
            try await store.prepare(create: create)
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(url: MilvusURL) throws {
        self.url = url
        client = try MilvusClient(url: url)
    }

    public func close() async { await client.close() }

    /// Every step is idempotent, so processes opening a new store at once (shard workers) each finish it: one
    /// may find a collection another created but has not indexed or loaded yet.
    private func prepare(create: Bool) async throws {
        if try await !client.hasCollection(settings), !create {
            throw StoreError.notALibrary(path: location, reason: "no Glimpse collection \(url.collection) on this server; run `glimpse index` first")
        }
        for (name, fields) in [(settings, [("value", Milvus_Proto_Schema_DataType.varChar, Int?.none)]), (thumbnails, [("jpeg", .varChar, nil)])] {
            if try await !client.hasCollection(name) {
                try await client.createCollection(Self.schema(name, primary: name == settings ? ("key", .varChar) : ("id", .int64), fields: fields,
                                                              vector: ("placeholder", 2)))
            }
            try await client.createIndex(collection: name, field: "placeholder", params: ["index_type": "FLAT", "metric_type": "L2"])
            try await client.load(name)
        }
        if let binding = try await model() {
            try await ensureImageCollection(dimension: binding.dimension)
            lock.withLock { dimension = binding.dimension }
        }
        if let binding = try await captionModels() { try await ensureCaptionCollection(dimension: binding.dimension) }
    }

    /// Drops every collection of this store: the collection is gone. For tests and tools.
    public func destroy() async throws {
        for name in [images, captions, thumbnails, settings] { try await client.dropCollection(name) }
    }

    // MARK: Schema

    private static func schema(_ name: String, primary: (String, Milvus_Proto_Schema_DataType),
                               fields: [(String, Milvus_Proto_Schema_DataType, Int?)], vector: (String, Int)) -> Milvus_Proto_Schema_CollectionSchema {
        var schema = Milvus_Proto_Schema_CollectionSchema()
        schema.name = name
        func field(_ name: String, _ type: Milvus_Proto_Schema_DataType, primary: Bool = false, maxLength: Int? = nil, dim: Int? = nil) -> Milvus_Proto_Schema_FieldSchema {
            var field = Milvus_Proto_Schema_FieldSchema()
            field.name = name
            field.dataType = type
            field.isPrimaryKey = primary
            if type == .varChar { field.typeParams.append(keyValue("max_length", String(maxLength ?? maxVarChar))) }
            if let dim { field.typeParams.append(keyValue("dim", String(dim))) }
            return field
        }
        schema.fields = [field(primary.0, primary.1, primary: true, maxLength: 512)]
            + fields.map { field($0.0, $0.1, maxLength: $0.2) }
            + [field(vector.0, .floatVector, dim: vector.1)]
        return schema
    }

    private static let imageFields: [(String, Milvus_Proto_Schema_DataType, Int?)] = [
        ("path", .varChar, nil), ("size", .int64, nil), ("mtime_ns", .int64, nil), ("content_hash", .varChar, 64),
        ("width", .int64, nil), ("height", .int64, nil), ("format", .varChar, 64), ("indexed_at", .double, nil),
        ("source_id", .varChar, nil), ("url", .varChar, nil), ("validator", .varChar, nil), ("metadata", .json, nil),
    ]

    /// Creates (when missing), indexes and loads the image collection.
    private func ensureImageCollection(dimension: Int) async throws {
        if try await !client.hasCollection(images) {
            try await client.createCollection(Self.schema(images, primary: ("id", .int64), fields: Self.imageFields, vector: ("embedding", dimension)))
        } else {
            let schema = try await client.describeCollection(images)
            let vector = schema.fields.first { $0.name == "embedding" }
            let dim = vector?.typeParams.first { $0.key == "dim" }.flatMap { Int($0.value) }
            guard vector != nil, schema.fields.contains(where: { $0.name == "metadata" }) else {
                throw StoreError.notALibrary(path: location, reason: "collection \(images) exists but is not a Glimpse collection (no embedding and metadata fields)")
            }
            if let dim, dim != dimension { throw StoreError.dimensionMismatch(library: location, expected: dim, actual: dimension) }
        }
        try await client.createIndex(collection: images, field: "embedding", params: [
            "index_type": "HNSW", "metric_type": "COSINE", "params": "{\"M\": \(url.m), \"efConstruction\": \(url.efConstruction)}",
        ])
        try await client.load(images)
    }

    // MARK: Consistency

    /// Notes a write's timestamp: this process's later reads wait for it.
    private func wrote(_ timestamp: UInt64) {
        lock.withLock {
            seen = max(seen, timestamp)
            unflushed = true
        }
    }

    /// Catalog reads see every acknowledged write.
    private var catalogRead: MilvusClient.ReadConsistency { .strong }

    /// Searches: the URL's level, but never older than this process's writes and last refresh.
    private var searchRead: MilvusClient.ReadConsistency {
        let (seen, strong) = lock.withLock { (self.seen, strongSearches) }
        if url.consistency == .strong || strong { return .strong }
        if seen > 0 { return .after(seen) }
        return url.consistency == .eventually ? .eventually : .bounded
    }

    /// Makes everything written so far, by any process, visible to this process's searches: the timestamp a strong
    /// read ran at becomes their guarantee (a server that does not report it makes later searches strong).
    public func refresh() async throws {
        guard hasImages else { return }
        let rows = try await client.query(images, expression: "id < 0", fields: ["id"], limit: 1, consistency: .strong)
        lock.withLock {
            if rows.sessionTimestamp > 0 { seen = max(seen, rows.sessionTimestamp) } else { strongSearches = true }
        }
    }

    /// After a large load, the collection is flushed and its HNSW index built before searches: rows still in
    /// growing segments are searched through Milvus's interim index (IVF, whose recall `ef` does not raise), so
    /// without this a freshly loaded collection answers with lower recall until Milvus seals it on its own.
    public func bulkLoad(_ body: () async throws -> Void) async throws {
        try await body()
        guard hasImages else { return }
        let rows = try await client.count(images, consistency: .strong)
        try await client.flush(images)
        try await client.waitForIndex(collection: images, field: "embedding", rows: rows, timeout: .seconds(max(600, url.timeoutSeconds)))
    }

    /// Seals what was written (the end of an index run, a server's debounced checkpoint), so that Milvus indexes it
    /// with HNSW now instead of when it would seal it on its own.
    /// Nothing when this process wrote nothing (a search).
    public func checkpoint() async throws {
        guard hasImages, lock.withLock({ unflushed }) else { return }
        lock.withLock { unflushed = false }
        try await client.flush(images)
    }

    public var indexKind: String { "milvus-hnsw" }

    // MARK: Settings

    private func settingValues(prefix: String) async throws -> [String: String] {
        let rows = try await client.query(settings, expression: "key like \(MilvusExpression.string(Self.likePrefix(prefix) + "%"))",
                                          fields: ["key", "value"], limit: Self.maxResultWindow, consistency: catalogRead)
        var values: [String: String] = [:]
        for (key, value) in zip(rows.string("key"), rows.string("value")) where key.hasPrefix(prefix) { values[key] = value }
        return values
    }

    public func recordPrecision(_ precision: String) async throws {
        let key = "precision." + precision
        if try await settingValues(prefix: key)[key] == nil { try await setSettings([(key, "1")]) }
    }

    public func precisions() async throws -> [String] {
        try await settingValues(prefix: "precision.").keys.map { String($0.dropFirst("precision.".count)) }.sorted()
    }

    private func setSettings(_ values: [(String, String)]) async throws {
        let timestamp = try await client.upsert(settings, [
            .string("key", values.map(\.0)), .string("value", values.map(\.1)),
            .floatVector("placeholder", dimension: 2, Array(repeating: [1, 0], count: values.count).flatMap { $0 }),
        ], rows: values.count)
        wrote(timestamp)
    }

    /// The part of `prefix` a Milvus `like` pattern can hold literally (up to its first wildcard character); the
    /// caller checks the whole prefix.
    static func likePrefix(_ prefix: String) -> String {
        String(prefix.prefix { $0 != "%" && $0 != "_" && $0 != "\\" })
    }

    public func bindModel(name: String, fingerprint: String, dimension: Int) async throws {
        if let bound = try await model() {
            guard bound.fingerprint == fingerprint else {
                throw StoreError.modelMismatch(library: location, libraryModel: bound.name, requested: name)
            }
            try await ensureImageCollection(dimension: bound.dimension)
            lock.withLock { self.dimension = bound.dimension }
            return
        }
        try await ensureImageCollection(dimension: dimension)
        try await setSettings([("model.name", name), ("model.fingerprint", fingerprint), ("model.dimension", String(dimension))])
        lock.withLock { self.dimension = dimension }
    }

    public func model() async throws -> ModelBinding? {
        let values = try await settingValues(prefix: "model.")
        guard let name = values["model.name"], let fingerprint = values["model.fingerprint"],
              let dimension = values["model.dimension"].flatMap(Int.init) else { return nil }
        return ModelBinding(name: name, fingerprint: fingerprint, dimension: dimension)
    }

    /// Roots are settings `root.<microseconds since 1970>.<path>`: ordered by when they were first recorded.
    public func collectionRoots() async throws -> [String] {
        let values = try await settingValues(prefix: "root.")
        return values.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map { String($0.key.dropFirst("root.".count)) }
    }

    public func addCollectionRoots(_ roots: [String]) async throws {
        let known = Set(try await collectionRoots())
        let start = Int64(Date().timeIntervalSince1970 * 1_000_000)
        var seenRoots = Set<String>()
        let new = roots.filter { !known.contains($0) && seenRoots.insert($0).inserted }
        guard !new.isEmpty else { return }
        try await setSettings(new.enumerated().map { ("root." + $0.element, String(format: "%020lld", start + Int64($0.offset))) })
    }

    // MARK: Catalog

    private static let recordFields = ["id", "path", "size", "mtime_ns", "content_hash", "width", "height", "format", "indexed_at",
                                       "embedding", "source_id", "url", "validator", "metadata"]

    private func records(_ rows: MilvusRows) -> [ImageRecord] {
        let ids = rows.int64("id"), paths = rows.string("path"), sizes = rows.int64("size"), mtimes = rows.int64("mtime_ns")
        let hashes = rows.string("content_hash"), widths = rows.int64("width"), heights = rows.int64("height")
        let formats = rows.string("format"), indexed = rows.double("indexed_at"), vectors = rows.vectors("embedding")
        let sources = rows.string("source_id"), urls = rows.string("url"), validators = rows.string("validator"), metadata = rows.json("metadata")
        guard [paths.count, sizes.count, mtimes.count, hashes.count, widths.count, heights.count, formats.count, indexed.count,
               vectors.count, sources.count, urls.count, validators.count, metadata.count].allSatisfy({ $0 == ids.count }) else { return [] }
        return ids.indices.map { i in
            ImageRecord(id: ids[i], path: paths[i], size: sizes[i], mtimeNanoseconds: mtimes[i], contentHash: hashes[i],
                        width: Int(widths[i]), height: Int(heights[i]), format: formats[i], indexedAt: indexed[i], embedding: vectors[i],
                        sourceID: sources[i].isEmpty ? nil : sources[i], url: urls[i].isEmpty ? nil : urls[i],
                        validator: validators[i].isEmpty ? nil : validators[i],
                        metadataJSON: MetadataJSON.encode(MetadataJSON.decode(metadata[i])))
        }
    }

    /// Whether the image collection exists yet (it is created when the model is bound).
    private var hasImages: Bool { lock.withLock { dimension } != nil }

    /// Every row an expression selects, however many: the primary-key space is cut into ranges, and a range whose
    /// page comes back full (Milvus returns at most `maxResultWindow` rows a query, in no fixed order) is split
    /// and read again.
    private func scan(_ collection: String, expression: String, fields: [String], body: (MilvusRows) async throws -> Void) async throws {
        let total = try await client.count(collection, expression: expression, consistency: catalogRead)
        guard total > 0 else { return }
        let page = Self.maxResultWindow
        var parts = 1
        while parts * page < total * 2 { parts *= 2 }
        let span = Self.idSpace / Int64(parts)
        var pending: [(Int64, Int64)] = (0..<parts).reversed().map { (Int64($0) * span, $0 == parts - 1 ? Self.idSpace : Int64($0 + 1) * span) }
        while let (low, high) = pending.popLast() {
            var condition = "id >= \(low) and id < \(high)"
            if !expression.isEmpty { condition += " and (\(expression))" }
            let rows = try await client.query(collection, expression: condition, fields: fields, limit: page, consistency: catalogRead)
            if rows.count >= page, high - low > 1 {
                let middle = low + (high - low) / 2
                pending.append((middle, high))
                pending.append((low, middle))
                continue
            }
            try await body(rows)
        }
    }

    /// Ids live in [1, 2^53): exact as JSON numbers in every client.
    static let idSpace: Int64 = 1 << 53

    public func imageCount() async throws -> Int {
        guard hasImages else { return 0 }
        return try await client.count(images, consistency: catalogRead)
    }

    public func fileStates() async throws -> [StoredFileState] {
        guard hasImages else { return [] }
        var states: [StoredFileState] = []
        try await scan(images, expression: "", fields: ["id", "path", "size", "mtime_ns", "content_hash"]) { rows in
            let ids = rows.int64("id"), paths = rows.string("path"), sizes = rows.int64("size"), mtimes = rows.int64("mtime_ns"), hashes = rows.string("content_hash")
            for i in ids.indices where i < paths.count && i < sizes.count && i < mtimes.count && i < hashes.count {
                states.append(StoredFileState(id: ids[i], path: paths[i], size: sizes[i], mtimeNanoseconds: mtimes[i], contentHash: hashes[i]))
            }
        }
        return states
    }

    public func image(id: Int64) async throws -> ImageRecord? {
        try await images(ids: [id])[id]
    }

    public func image(path: String) async throws -> ImageRecord? {
        guard hasImages else { return nil }
        let rows = try await client.query(images, expression: "path == \(MilvusExpression.string(path))", fields: Self.recordFields,
                                          limit: 2, consistency: catalogRead)
        return records(rows).first
    }

    public func images(ids: [Int64]) async throws -> [Int64: ImageRecord] {
        guard hasImages, !ids.isEmpty else { return [:] }
        var out: [Int64: ImageRecord] = [:]
        for chunk in Self.chunks(Array(Set(ids)), of: 4096) {
            let rows = try await client.query(images, expression: MilvusExpression.ids(chunk), fields: Self.recordFields,
                                              limit: chunk.count, consistency: catalogRead)
            for record in records(rows) { out[record.id!] = record }
        }
        return out
    }

    static func chunks<T>(_ values: [T], of size: Int) -> [[T]] {
        stride(from: 0, to: values.count, by: size).map { Array(values[$0..<min($0 + size, values.count)]) }
    }

    /// The id of a new image at `path`: its hash in [1, 2^53), rehashed with a counter past ids other paths hold.
    static func id(for path: String, attempt: Int = 0) -> Int64 {
        // FNV-1a over the UTF-8 bytes (and the attempt), then SplitMix64's finaliser to spread the bits.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        hash = (hash ^ UInt64(attempt)) &* 0x100_0000_01b3
        hash ^= hash >> 30; hash = hash &* 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27; hash = hash &* 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        let id = Int64(hash & UInt64(idSpace - 1))
        return id == 0 ? 1 : id
    }

    /// The stored (id, path, content hash) of these paths.
    private func rows(paths: [String]) async throws -> [String: (id: Int64, hash: String)] {
        var out: [String: (Int64, String)] = [:]
        for chunk in Self.chunks(paths, of: 1024) {
            let rows = try await client.query(images, expression: MilvusExpression.strings(field: "path", in: chunk),
                                              fields: ["id", "path", "content_hash"], limit: Self.maxResultWindow, consistency: catalogRead)
            for (id, (path, hash)) in zip(rows.int64("id"), zip(rows.string("path"), rows.string("content_hash"))) { out[path] = (id, hash) }
        }
        return out
    }

    /// Which of these ids are taken, and by which path.
    private func paths(ids: [Int64]) async throws -> [Int64: String] {
        var out: [Int64: String] = [:]
        for chunk in Self.chunks(ids, of: 4096) {
            let rows = try await client.query(images, expression: MilvusExpression.ids(chunk), fields: ["id", "path"],
                                              limit: chunk.count, consistency: catalogRead)
            for (id, path) in zip(rows.int64("id"), rows.string("path")) { out[id] = path }
        }
        return out
    }

    @discardableResult
    public func saveImages(_ records: [ImageRecord]) async throws -> [Int64] {
        guard !records.isEmpty else { return [] }
        guard let dimension = lock.withLock({ dimension }) else {
            throw StoreError.notALibrary(path: location, reason: "no model bound yet")
        }
        // The last record of a path wins, as in one SQL upsert.
        var last: [String: Int] = [:]
        for (i, record) in records.enumerated() { last[record.path] = i }
        let unique = records.indices.filter { last[records[$0].path] == $0 }.map { records[$0] }
        var flat: [Float] = []
        flat.reserveCapacity(unique.count * dimension)
        for record in unique {
            let vector = record.vector
            guard vector.count == dimension else {
                throw StoreError.dimensionMismatch(library: location, expected: dimension, actual: vector.count)
            }
            flat += vector
        }
        for record in unique {
            for text in [record.path, record.sourceID ?? "", record.url ?? "", record.validator ?? ""] where text.utf8.count > Self.maxVarChar {
                throw StoreError.queryFailed(location: location, reason: "\(record.path.prefix(200))…: longer than Milvus's \(Self.maxVarChar)-byte text limit")
            }
        }
        let existing = try await rows(paths: unique.map(\.path))
        var ids: [String: Int64] = existing.mapValues(\.id)
        var newPaths = unique.map(\.path).filter { ids[$0] == nil }
        var attempt = 0
        while !newPaths.isEmpty {
            let proposed = Dictionary(newPaths.map { ($0, Self.id(for: $0, attempt: attempt)) }, uniquingKeysWith: { a, _ in a })
            let taken = try await paths(ids: Array(proposed.values))
            var retry: [String] = []
            var claimed = Set(ids.values)
            for path in newPaths {
                let id = proposed[path]!
                if let holder = taken[id], holder != path { retry.append(path); continue }
                if !claimed.insert(id).inserted { retry.append(path); continue }
                ids[path] = id
            }
            newPaths = retry
            attempt += 1
        }
        let order = unique.map { ids[$0.path]! }
        let timestamp = try await client.upsert(images, Self.imageColumns(unique, ids: order, dimension: dimension, vectors: flat), rows: unique.count)
        wrote(timestamp)
        // A changed image's caption no longer describes it.
        let changed = unique.compactMap { record in existing[record.path].flatMap { $0.hash != record.contentHash ? $0.id : nil } }
        try await deleteCaptions(ids: changed)
        return records.map { ids[$0.path]! }
    }

    /// The image collection's columns for these records (Milvus writes whole rows: an update is an upsert of all).
    private static func imageColumns(_ records: [ImageRecord], ids: [Int64], dimension: Int, vectors: [Float]) -> [MilvusColumn] {
        [
            .int64("id", ids),
            .string("path", records.map(\.path)),
            .int64("size", records.map(\.size)),
            .int64("mtime_ns", records.map(\.mtimeNanoseconds)),
            .string("content_hash", records.map(\.contentHash)),
            .int64("width", records.map { Int64($0.width) }),
            .int64("height", records.map { Int64($0.height) }),
            .string("format", records.map(\.format)),
            .double("indexed_at", records.map(\.indexedAt)),
            .string("source_id", records.map { $0.sourceID ?? "" }),
            .string("url", records.map { $0.url ?? "" }),
            .string("validator", records.map { $0.validator ?? "" }),
            .json("metadata", records.map(\.metadata)),
            .floatVector("embedding", dimension: dimension, vectors),
        ]
    }

    private func deleteCaptions(ids: [Int64]) async throws {
        guard !ids.isEmpty, try await captionModels() != nil else { return }
        for chunk in Self.chunks(ids, of: 4096) { wrote(try await client.delete(captions, expression: MilvusExpression.ids(chunk))) }
    }

    public func moveImages(_ moves: [ImageMove]) async throws {
        guard !moves.isEmpty else { return }
        // Rows already at a new path (of other images) are replaced.
        let occupied = try await rows(paths: moves.map(\.newPath))
        let replaced = moves.compactMap { move in occupied[move.newPath].flatMap { $0.id != move.id ? $0.id : nil } }
        if !replaced.isEmpty { try await removeImages(ids: replaced) }
        var stored = try await images(ids: moves.map(\.id))
        var moved: [ImageRecord] = []
        for move in moves {
            guard var record = stored.removeValue(forKey: move.id) else { continue }
            record.path = move.newPath
            record.mtimeNanoseconds = move.mtimeNanoseconds
            moved.append(record)
        }
        guard let dimension = lock.withLock({ dimension }), !moved.isEmpty else { return }
        // Upserted by id: the same row, its new path.
        let timestamp = try await client.upsert(images, Self.imageColumns(moved, ids: moved.map { $0.id! }, dimension: dimension,
                                                                          vectors: moved.flatMap(\.vector)), rows: moved.count)
        wrote(timestamp)
    }

    public func removeImages(ids: [Int64]) async throws {
        guard !ids.isEmpty, hasImages else { return }
        for chunk in Self.chunks(ids, of: 4096) {
            let expression = MilvusExpression.ids(chunk)
            wrote(try await client.delete(images, expression: expression))
            wrote(try await client.delete(thumbnails, expression: expression))
        }
        try await deleteCaptions(ids: ids)
    }

    public func sourceStates(pathPrefix prefix: String) async throws -> [StoredSourceState] {
        guard hasImages else { return [] }
        var states: [StoredSourceState] = []
        let expression = "path like \(MilvusExpression.string(Self.likePrefix(prefix) + "%"))"
        try await scan(images, expression: expression, fields: ["id", "path", "url", "validator", "content_hash", "metadata"]) { rows in
            let ids = rows.int64("id"), paths = rows.string("path"), urls = rows.string("url"), validators = rows.string("validator")
            let hashes = rows.string("content_hash"), metadata = rows.json("metadata")
            for i in ids.indices where paths[i].hasPrefix(prefix) {
                states.append(StoredSourceState(id: ids[i], path: paths[i], url: urls[i].isEmpty ? nil : urls[i],
                                                validator: validators[i].isEmpty ? nil : validators[i], contentHash: hashes[i],
                                                metadata: MetadataJSON.encode(MetadataJSON.decode(metadata[i]))))
            }
        }
        return states
    }

    /// Milvus updates a row by upserting all of it: the records are read, given their new metadata and written
    /// back in one request.
    public func updateMetadata(_ updates: [(id: Int64, metadata: ImageMetadata)]) async throws {
        guard !updates.isEmpty else { return }
        let stored = try await images(ids: updates.map(\.id))
        var changed: [ImageRecord] = []
        for update in updates {
            guard var record = stored[update.id] else { continue }
            record.metadata = MetadataJSON.encode(update.metadata)
            changed.append(record)
        }
        guard let dimension = lock.withLock({ dimension }), !changed.isEmpty else { return }
        let timestamp = try await client.upsert(images, Self.imageColumns(changed, ids: changed.map { $0.id! }, dimension: dimension,
                                                                          vectors: changed.flatMap(\.vector)), rows: changed.count)
        wrote(timestamp)
    }

    public func forEachImage(batchSize: Int, _ body: ([ImageRecord]) async throws -> Void) async throws {
        guard hasImages else { return }
        var ids: [Int64] = []
        try await scan(images, expression: "", fields: ["id"]) { ids += $0.int64("id") }
        ids.sort()
        for chunk in Self.chunks(ids, of: max(1, batchSize)) {
            let found = try await images(ids: chunk)
            let batch = chunk.compactMap { found[$0] }
            if !batch.isEmpty { try await body(batch) }
        }
    }

    // MARK: Vector search

    /// HNSW search in Milvus. A filter runs inside Milvus as an expression on the metadata JSON field; where Milvus
    /// can only narrow the candidates (`MilvusExpression.filter`), each hit is checked against the filter and the
    /// search widens until `k` pass, or, past Milvus's result window, the candidates are found by a scan and searched
    /// by id.
    public func nearest(to vector: [Float], k: Int, minScore: Float?, ef: Int?, filter: MetadataFilter?) async throws -> [ScoredImage] {
        guard k > 0, let dimension = lock.withLock({ dimension }) else { return [] }
        guard vector.count == dimension else {
            throw StoreError.dimensionMismatch(library: location, expected: dimension, actual: vector.count)
        }
        let found = try await search(images, field: "embedding", vector: vector, k: k, ef: ef, filter: filter)
        guard let minScore else { return found }
        return found.filter { $0.score >= minScore }
    }

    /// The search of `nearest` and `nearestCaptions`: by vector, within a filter on the images' metadata.
    private func search(_ collection: String, field: String, vector: [Float], k: Int, ef: Int?, filter: MetadataFilter?) async throws -> [ScoredImage] {
        let window = Self.maxResultWindow
        func run(_ limit: Int, _ expression: String, fields: [String] = []) async throws -> (ids: [Int64], scores: [Float], rows: MilvusRows) {
            // HNSW's candidate list must hold the results (Milvus refuses ef < k).
            let searchEf = collection == images ? max(ef ?? 64, limit) : nil
            return try await client.search(collection, vectorField: field, vector: vector, k: limit, ef: searchEf, expression: expression,
                                           fields: fields, consistency: searchRead)
        }
        func scored(_ result: (ids: [Int64], scores: [Float], rows: MilvusRows)) -> [ScoredImage] {
            zip(result.ids, result.scores).map { ScoredImage(id: $0, score: $1) }
        }
        guard let filter, !filter.isEmpty else {
            if k <= window { return scored(try await run(k, "")) }
            // Deeper than Milvus's window: exact scores of every row, best first.
            return try await searchByIDs(collection, field: field, vector: vector, k: k, ids: nil, run: run)
        }
        let (expression, exact) = MilvusExpression.filter(filter)
        if collection == images {
            var limit = exact ? min(k, window) : min(max(4 * k, 64), window)
            while true {
                let result = try await run(limit, expression, fields: ["metadata"])
                let metadata = result.rows.json("metadata")
                let passing = zip(scored(result), metadata).filter { filter.matches(MetadataJSON.decode($0.1)) }.map(\.0)
                if passing.count >= k || result.ids.count < limit { return Array(passing.prefix(k)) }
                if limit >= window { break }
                limit = min(limit * 4, window)
            }
        }
        // The images the filter matches, found by a scan of the catalog, then searched among by id.
        return try await searchByIDs(collection, field: field, vector: vector, k: k, ids: try await matchingIDs(filter), run: run)
    }

    /// Every image the filter matches: Milvus narrows the candidates, `MetadataFilter.matches` decides.
    private func matchingIDs(_ filter: MetadataFilter) async throws -> [Int64] {
        var matching: [Int64] = []
        try await scan(images, expression: MilvusExpression.filter(filter).expression, fields: ["id", "metadata"]) { rows in
            for (id, metadata) in zip(rows.int64("id"), rows.json("metadata")) where filter.matches(MetadataJSON.decode(metadata)) {
                matching.append(id)
            }
        }
        return matching
    }

    /// The best `k` among `ids` (every row when nil), in chunks the result window holds, merged.
    private func searchByIDs(_ collection: String, field: String, vector: [Float], k: Int, ids: [Int64]?,
                             run: (Int, String, [String]) async throws -> (ids: [Int64], scores: [Float], rows: MilvusRows)) async throws -> [ScoredImage] {
        var all = ids ?? []
        if ids == nil { try await scan(collection, expression: "", fields: ["id"]) { all += $0.int64("id") } }
        var found: [ScoredImage] = []
        for chunk in Self.chunks(all, of: Self.maxResultWindow) {
            let result = try await run(chunk.count, MilvusExpression.ids(chunk), [])
            found += zip(result.ids, result.scores).map { ScoredImage(id: $0, score: $1) }
        }
        return Array(found.sorted { ($0.score, $1.id) > ($1.score, $0.id) }.prefix(k))
    }

    // MARK: Captions

    public func bindCaptionModels(_ binding: CaptionBinding) async throws {
        lock.withLock { captionBinding = nil }
        if let bound = try await captionModels() {
            guard bound.sentenceFingerprint == binding.sentenceFingerprint, bound.dimension == binding.dimension else {
                throw StoreError.captionModelMismatch(library: location, libraryModel: bound.sentenceModel, requested: binding.sentenceModel)
            }
            try await ensureCaptionCollection(dimension: bound.dimension)
            if bound.captionModel == binding.captionModel { return }
        }
        try await ensureCaptionCollection(dimension: binding.dimension)
        try await setSettings([("caption.model", binding.captionModel), ("caption.sentenceModel", binding.sentenceModel),
                               ("caption.sentenceFingerprint", binding.sentenceFingerprint), ("caption.dimension", String(binding.dimension))])
        lock.withLock { captionBinding = binding }
    }

    private func ensureCaptionCollection(dimension: Int) async throws {
        if try await !client.hasCollection(captions) {
            try await client.createCollection(Self.schema(captions, primary: ("id", .int64),
                                                          fields: [("content_hash", .varChar, 64), ("text", .varChar, nil)],
                                                          vector: ("embedding", dimension)))
        }
        // Exact search, as the other stores' caption search.
        try await client.createIndex(collection: captions, field: "embedding", params: ["index_type": "FLAT", "metric_type": "COSINE"])
        try await client.load(captions)
    }

    /// Read from the server until one is found, then kept: a binding only goes from none to set (another
    /// sentence model is refused), so searches and caption lookups do not read the settings each time.
    public func captionModels() async throws -> CaptionBinding? {
        if let known = lock.withLock({ captionBinding }) { return known }
        let values = try await settingValues(prefix: "caption.")
        guard let model = values["caption.model"], let sentence = values["caption.sentenceModel"],
              let fingerprint = values["caption.sentenceFingerprint"], let dimension = values["caption.dimension"].flatMap(Int.init) else { return nil }
        let binding = CaptionBinding(captionModel: model, sentenceModel: sentence, sentenceFingerprint: fingerprint, dimension: dimension)
        lock.withLock { captionBinding = binding }
        return binding
    }

    /// The caption rows (id → content hash) of every captioned image.
    private func captionHashes() async throws -> [Int64: String] {
        guard try await captionModels() != nil else { return [:] }
        var out: [Int64: String] = [:]
        try await scan(captions, expression: "", fields: ["id", "content_hash"]) { rows in
            for (id, hash) in zip(rows.int64("id"), rows.string("content_hash")) { out[id] = hash }
        }
        return out
    }

    public func imagesNeedingCaptions() async throws -> [CaptionTarget] {
        guard hasImages else { return [] }
        let captioned = try await captionHashes()
        var targets: [CaptionTarget] = []
        try await scan(images, expression: "", fields: ["id", "path", "content_hash"]) { rows in
            for (id, (path, hash)) in zip(rows.int64("id"), zip(rows.string("path"), rows.string("content_hash"))) where captioned[id] != hash {
                targets.append(CaptionTarget(id: id, path: path, contentHash: hash))
            }
        }
        return targets.sorted { $0.id < $1.id }
    }

    /// Captions of images removed or changed meanwhile are dropped.
    public func saveCaptions(_ captions: [ImageCaption]) async throws {
        guard let dimension = captions.first?.embedding.count else { return }
        for caption in captions where caption.embedding.count != dimension {
            throw StoreError.dimensionMismatch(library: location, expected: dimension, actual: caption.embedding.count)
        }
        let current = try await images(ids: captions.map(\.imageId)).mapValues(\.contentHash)
        var last: [Int64: ImageCaption] = [:]
        for caption in captions where current[caption.imageId] == caption.contentHash { last[caption.imageId] = caption }
        let kept = last.values.sorted { $0.imageId < $1.imageId }
        guard !kept.isEmpty else { return }
        let timestamp = try await client.upsert(self.captions, [
            .int64("id", kept.map(\.imageId)),
            .string("content_hash", kept.map(\.contentHash)),
            .string("text", kept.map { Self.truncated($0.text) }),
            .floatVector("embedding", dimension: dimension, kept.flatMap(\.embedding)),
        ], rows: kept.count)
        wrote(timestamp)
    }

    /// Text cut to Milvus's VARCHAR limit, on a character boundary.
    static func truncated(_ text: String) -> String {
        guard text.utf8.count > maxVarChar else { return text }
        var out = ""
        for character in text {
            if out.utf8.count + character.utf8.count > maxVarChar { break }
            out.append(character)
        }
        return out
    }

    public func captions(ids: [Int64]) async throws -> [Int64: String] {
        guard !ids.isEmpty, try await captionModels() != nil else { return [:] }
        var out: [Int64: String] = [:]
        for chunk in Self.chunks(Array(Set(ids)), of: 4096) {
            let rows = try await client.query(captions, expression: MilvusExpression.ids(chunk), fields: ["id", "text"],
                                              limit: chunk.count, consistency: catalogRead)
            for (id, text) in zip(rows.int64("id"), rows.string("text")) { out[id] = text }
        }
        return out
    }

    public func captionEmbeddings(ids: [Int64]) async throws -> [Int64: [Float]] {
        guard !ids.isEmpty, try await captionModels() != nil else { return [:] }
        var out: [Int64: [Float]] = [:]
        for chunk in Self.chunks(Array(Set(ids)), of: 4096) {
            let rows = try await client.query(captions, expression: MilvusExpression.ids(chunk), fields: ["id", "embedding"],
                                              limit: chunk.count, consistency: catalogRead)
            for (id, vector) in zip(rows.int64("id"), rows.vectors("embedding")) { out[id] = vector }
        }
        return out
    }

    public func captionCount() async throws -> Int {
        guard try await captionModels() != nil else { return 0 }
        return try await client.count(captions, consistency: catalogRead)
    }

    public func nearestCaptions(to vector: [Float], k: Int, minScore: Float?, filter: MetadataFilter?) async throws -> [ScoredImage] {
        guard k > 0, !vector.isEmpty, let binding = try await captionModels(), binding.dimension == vector.count else { return [] }
        let found: [ScoredImage]
        if let filter, !filter.isEmpty {
            // The images the filter matches, then their captions' nearest.
            found = try await searchByIDs(captions, field: "embedding", vector: vector, k: k, ids: try await matchingIDs(filter)) { limit, expression, fields in
                try await client.search(captions, vectorField: "embedding", vector: vector, k: limit, ef: nil, expression: expression,
                                        fields: fields, consistency: searchRead)
            }
        } else {
            found = try await search(captions, field: "embedding", vector: vector, k: k, ef: nil, filter: nil)
        }
        guard let minScore else { return found }
        return found.filter { $0.score >= minScore }
    }

    // MARK: Thumbnails

    public func thumbnail(id: Int64) async throws -> Data? {
        let rows = try await client.query(thumbnails, expression: "id == \(id)", fields: ["jpeg"], limit: 1, consistency: catalogRead)
        return rows.string("jpeg").first.flatMap { Data(base64Encoded: $0) }
    }

    /// Thumbnails of images removed meanwhile are dropped; one larger than Milvus's text limit is not kept (the
    /// server makes it again when asked).
    public func saveThumbnails(_ thumbnails: [(id: Int64, jpeg: Data)]) async throws {
        guard !thumbnails.isEmpty, hasImages else { return }
        let present = Set(try await paths(ids: thumbnails.map(\.id)).keys)
        var last: [Int64: String] = [:]
        for (id, jpeg) in thumbnails where present.contains(id) {
            let text = jpeg.base64EncodedString()
            if text.utf8.count <= Self.maxVarChar { last[id] = text }
        }
        guard !last.isEmpty else { return }
        let rows = last.sorted { $0.key < $1.key }
        let timestamp = try await client.upsert(self.thumbnails, [
            .int64("id", rows.map(\.key)), .string("jpeg", rows.map(\.value)),
            .floatVector("placeholder", dimension: 2, Array(repeating: [1, 0], count: rows.count).flatMap { $0 }),
        ], rows: rows.count)
        wrote(timestamp)
    }
}
