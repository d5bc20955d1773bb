import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import MilvusProtocol

/// A connection to a Milvus server (MilvusService over gRPC, HTTP/2): the RPCs the Milvus store needs, with the
/// server's status turned into `StoreError`s, a deadline on every call, and retries with back-off while the server
/// is UNAVAILABLE (starting, restarting, or a proxy between replicas).
final class MilvusClient: Sendable {
    typealias Service = Milvus_Proto_Milvus_MilvusService.Client<HTTP2ClientTransport.Posix>

    let url: MilvusURL
    private let grpc: GRPCClient<HTTP2ClientTransport.Posix>
    private let service: Service
    private let runner: Task<Void, Never>
    private let metadata: Metadata
    /// Attempts of a call that finds the server UNAVAILABLE, and the first wait between them (doubling, to 2 s).
    private let attempts = 6
    private let firstBackoff: Duration = .milliseconds(100)

    var location: String { url.redacted }

    init(url: MilvusURL) throws {
        self.url = url
        let security: HTTP2ClientTransport.Posix.TransportSecurity
        if url.tls {
            security = .tls { config in
                if !url.verifyCertificate { config.serverCertificateVerification = .noVerification }
            }
        } else {
            security = .plaintext
        }
        let transport = try HTTP2ClientTransport.Posix(target: .dns(host: url.host, port: url.port), transportSecurity: security)
        grpc = GRPCClient(transport: transport)
        service = Service(wrapping: grpc)
        var metadata: Metadata = [:]
        if let authorization = url.authorization { metadata.addString(authorization, forKey: "authorization") }
        if let database = url.database { metadata.addString(database, forKey: "dbname") }
        self.metadata = metadata
        runner = Task { [grpc] in try? await grpc.runConnections() }
    }

    func close() async {
        grpc.beginGracefulShutdown()
        _ = await runner.value
    }

    private var options: CallOptions {
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(url.timeoutSeconds * 1000))
        // A page of 16,384 rows with 768-dimensional vectors is 50 MB.
        options.maxResponseMessageBytes = 512 << 20
        options.maxRequestMessageBytes = 512 << 20
        return options
    }

    // MARK: Calls

    /// Runs one RPC, retrying while the server is unavailable; gRPC failures become `StoreError`s naming the store.
    private func call<T: Sendable>(_ name: String, _ body: @Sendable (Service, Metadata, CallOptions) async throws -> T) async throws -> T {
        var backoff = firstBackoff
        for attempt in 1...attempts {
            do {
                return try await body(service, metadata, options)
            } catch let error as RPCError {
                switch error.code {
                case .unavailable where attempt < attempts:
                    try await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(2))
                case .unavailable:
                    throw StoreError.unavailable(location: location, reason: "\(error.message) (is Milvus running and reachable?)")
                case .unauthenticated, .permissionDenied:
                    throw StoreError.unavailable(location: location, reason: "\(name): \(error.message) (check the user, password or token)")
                case .deadlineExceeded:
                    throw StoreError.unavailable(location: location, reason: "\(name) took longer than \(url.timeoutSeconds) s (timeout=)")
                default:
                    throw StoreError.queryFailed(location: location, reason: "\(name): \(error.code): \(error.message)")
                }
            } catch let error as RuntimeError {
                throw StoreError.unavailable(location: location, reason: "\(error)")
            }
        }
        throw CancellationError()
    }

    /// Throws the error a Milvus status carries (both its newer numeric code and its legacy error code).
    private func check(_ status: Milvus_Proto_Common_Status, _ name: String) throws {
        guard status.code != 0 || status.errorCode != .success else { return }
        let reason = status.reason.isEmpty ? "\(status.errorCode)" : status.reason
        // 1: collection not found (code 100 in newer servers); the caller names what is missing.
        if status.errorCode == .collectionNotExists || status.code == 100 {
            throw MilvusMissingCollection(reason: reason)
        }
        throw StoreError.queryFailed(location: location, reason: "\(name): \(reason)")
    }

    // MARK: Collections

    func hasCollection(_ name: String) async throws -> Bool {
        var request = Milvus_Proto_Milvus_HasCollectionRequest()
        request.collectionName = name
        let response = try await call("HasCollection") { [request] service, metadata, options in try await service.hasCollection(request, metadata: metadata, options: options) }
        try check(response.status, "HasCollection")
        return response.value
    }

    /// Creates a collection; one created meanwhile by another process is fine (its schema is checked by the caller).
    func createCollection(_ schema: Milvus_Proto_Schema_CollectionSchema) async throws {
        var request = Milvus_Proto_Milvus_CreateCollectionRequest()
        request.collectionName = schema.name
        request.schema = try schema.serializedData()
        request.shardsNum = 1
        request.consistencyLevel = .bounded
        let status = try await call("CreateCollection") { [request] service, metadata, options in try await service.createCollection(request, metadata: metadata, options: options) }
        if (status.code != 0 || status.errorCode != .success), try await hasCollection(schema.name) { return }
        try check(status, "CreateCollection \(schema.name)")
    }

    func dropCollection(_ name: String) async throws {
        var request = Milvus_Proto_Milvus_DropCollectionRequest()
        request.collectionName = name
        let status = try await call("DropCollection") { [request] service, metadata, options in try await service.dropCollection(request, metadata: metadata, options: options) }
        if status.code != 0 || status.errorCode != .success, !(try await hasCollection(name)) { return }
        try check(status, "DropCollection \(name)")
    }

    func describeCollection(_ name: String) async throws -> Milvus_Proto_Schema_CollectionSchema {
        var request = Milvus_Proto_Milvus_DescribeCollectionRequest()
        request.collectionName = name
        let response = try await call("DescribeCollection") { [request] service, metadata, options in try await service.describeCollection(request, metadata: metadata, options: options) }
        try check(response.status, "DescribeCollection \(name)")
        return response.schema
    }

    /// Indexes a vector field, unless it has an index already (made meanwhile by another process, too).
    func createIndex(collection: String, field: String, params: [String: String]) async throws {
        if try await hasIndex(collection: collection, field: field) { return }
        var request = Milvus_Proto_Milvus_CreateIndexRequest()
        request.collectionName = collection
        request.fieldName = field
        request.indexName = field + "_index"
        request.extraParams = params.sorted { $0.key < $1.key }.map { keyValue($0.key, $0.value) }
        let status = try await call("CreateIndex") { [request] service, metadata, options in try await service.createIndex(request, metadata: metadata, options: options) }
        if status.code != 0 || status.errorCode != .success, try await hasIndex(collection: collection, field: field) { return }
        try check(status, "CreateIndex \(collection).\(field)")
    }

    private func hasIndex(collection: String, field: String) async throws -> Bool {
        var describe = Milvus_Proto_Milvus_DescribeIndexRequest()
        describe.collectionName = collection
        describe.fieldName = field
        let existing = try await call("DescribeIndex") { [describe] service, metadata, options in try await service.describeIndex(describe, metadata: metadata, options: options) }
        return existing.status.code == 0 && existing.status.errorCode == .success && existing.indexDescriptions.contains { $0.fieldName == field }
    }

    /// Loads a collection into the query nodes' memory (searches and queries need it) and waits until it is.
    func load(_ collection: String) async throws {
        if try await loadState(collection) == .loaded { return }
        var request = Milvus_Proto_Milvus_LoadCollectionRequest()
        request.collectionName = collection
        let status = try await call("LoadCollection") { [request] service, metadata, options in try await service.loadCollection(request, metadata: metadata, options: options) }
        try check(status, "LoadCollection \(collection)")
        let deadline = ContinuousClock.now + .seconds(url.timeoutSeconds)
        while try await loadState(collection) != .loaded {
            guard ContinuousClock.now < deadline else {
                throw StoreError.unavailable(location: location, reason: "collection \(collection) did not load within \(url.timeoutSeconds) s")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func loadState(_ collection: String) async throws -> Milvus_Proto_Common_LoadState {
        var request = Milvus_Proto_Milvus_GetLoadStateRequest()
        request.collectionName = collection
        let response = try await call("GetLoadState") { [request] service, metadata, options in try await service.getLoadState(request, metadata: metadata, options: options) }
        try check(response.status, "GetLoadState \(collection)")
        return response.state
    }

    /// Seals the collection's growing segments (written to storage, then indexed by the index nodes).
    func flush(_ collection: String) async throws {
        var request = Milvus_Proto_Milvus_FlushRequest()
        request.collectionNames = [collection]
        let response = try await call("Flush") { [request] service, metadata, options in try await service.flush(request, metadata: metadata, options: options) }
        try check(response.status, "Flush \(collection)")
    }

    /// Waits until the field's index covers `rows` rows (the flushed segments have been sealed and indexed, none
    /// pending), at most `timeout`.
    func waitForIndex(collection: String, field: String, rows: Int, timeout: Duration) async throws {
        var request = Milvus_Proto_Milvus_DescribeIndexRequest()
        request.collectionName = collection
        request.fieldName = field
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let response = try await call("DescribeIndex") { [request] service, metadata, options in try await service.describeIndex(request, metadata: metadata, options: options) }
            try check(response.status, "DescribeIndex \(collection)")
            guard let index = response.indexDescriptions.first(where: { $0.fieldName == field }) else { return }
            if index.state == .failed { throw StoreError.queryFailed(location: location, reason: "index of \(collection): \(index.indexStateFailReason)") }
            if index.pendingIndexRows == 0, index.indexedRows >= max(index.totalRows, Int64(rows)) { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    // MARK: Writes

    /// Upserts rows (columns of equal length) in one request: Milvus applies a request whole or not at all.
    /// Returns the write's timestamp (reads that must see it wait for it).
    @discardableResult
    func upsert(_ collection: String, _ columns: [MilvusColumn], rows: Int) async throws -> UInt64 {
        guard rows > 0 else { return 0 }
        var request = Milvus_Proto_Milvus_UpsertRequest()
        request.collectionName = collection
        request.fieldsData = columns.map(\.fieldData)
        request.numRows = UInt32(rows)
        let response = try await call("Upsert") { [request] service, metadata, options in try await service.upsert(request, metadata: metadata, options: options) }
        try check(response.status, "Upsert into \(collection)")
        return response.timestamp
    }

    /// Deletes the rows an expression selects.
    @discardableResult
    func delete(_ collection: String, expression: String) async throws -> UInt64 {
        var request = Milvus_Proto_Milvus_DeleteRequest()
        request.collectionName = collection
        request.expr = expression
        let response = try await call("Delete") { [request] service, metadata, options in try await service.delete(request, metadata: metadata, options: options) }
        try check(response.status, "Delete from \(collection)")
        return response.timestamp
    }

    // MARK: Reads

    /// How a read waits for writes: every write acknowledged before it (`strong`), the writes up to a timestamp
    /// (this process's last write), or the collection's level (`bounded`/`eventually`: no wait).
    enum ReadConsistency: Sendable {
        case strong, bounded, eventually
        case after(UInt64)
    }

    private static func apply(_ consistency: ReadConsistency) -> (level: Milvus_Proto_Common_ConsistencyLevel, guarantee: UInt64) {
        switch consistency {
        case .strong: (.strong, 0)
        case .bounded: (.bounded, 0)
        case .eventually: (.eventually, 0)
        // Session consistency: wait for this write, no later one (what pymilvus does for its own writes).
        case let .after(timestamp): (.session, timestamp)
        }
    }

    /// The rows an expression selects (at most `limit`), as columns.
    func query(_ collection: String, expression: String, fields: [String], limit: Int?, consistency: ReadConsistency) async throws -> MilvusRows {
        var request = Milvus_Proto_Milvus_QueryRequest()
        request.collectionName = collection
        request.expr = expression
        request.outputFields = fields
        if let limit { request.queryParams = [keyValue("limit", String(limit))] }
        (request.consistencyLevel, request.guaranteeTimestamp) = Self.apply(consistency)
        request.useDefaultConsistency = false
        let response = try await call("Query") { [request] service, metadata, options in try await service.query(request, metadata: metadata, options: options) }
        try check(response.status, "Query \(collection)")
        var rows = MilvusRows(response.fieldsData)
        rows.sessionTimestamp = response.sessionTs
        return rows
    }

    func count(_ collection: String, expression: String = "", consistency: ReadConsistency) async throws -> Int {
        let rows = try await query(collection, expression: expression, fields: ["count(*)"], limit: nil, consistency: consistency)
        return Int(rows.int64("count(*)").first ?? 0)
    }

    /// The `k` rows nearest to `vector` on the field `vectorField` (COSINE), among those `expression` selects.
    func search(_ collection: String, vectorField: String, vector: [Float], k: Int, ef: Int?, expression: String,
                fields: [String], consistency: ReadConsistency) async throws -> (ids: [Int64], scores: [Float], rows: MilvusRows) {
        var group = Milvus_Proto_Common_PlaceholderGroup()
        var value = Milvus_Proto_Common_PlaceholderValue()
        value.tag = "$0"
        value.type = .floatVector
        value.values = [vector.withUnsafeBufferPointer { Data(buffer: $0) }]
        group.placeholders = [value]
        var request = Milvus_Proto_Milvus_SearchRequest()
        request.collectionName = collection
        request.dsl = expression
        request.dslType = .boolExprV1
        request.placeholderGroup = try group.serializedData()
        request.outputFields = fields
        request.nq = 1
        var params = ["anns_field": vectorField, "topk": String(k), "metric_type": "COSINE", "round_decimal": "-1", "offset": "0"]
        params["params"] = ef.map { "{\"ef\": \($0)}" } ?? "{}"
        request.searchParams = params.sorted { $0.key < $1.key }.map { keyValue($0.key, $0.value) }
        (request.consistencyLevel, request.guaranteeTimestamp) = Self.apply(consistency)
        request.useDefaultConsistency = false
        let response = try await call("Search") { [request] service, metadata, options in try await service.search(request, metadata: metadata, options: options) }
        try check(response.status, "Search \(collection)")
        let results = response.results
        let ids: [Int64] = if case let .intID(longs)? = results.ids.idField { longs.data } else { [] }
        return (ids, results.scores, MilvusRows(results.fieldsData))
    }
}

func keyValue(_ key: String, _ value: String) -> Milvus_Proto_Common_KeyValuePair {
    var pair = Milvus_Proto_Common_KeyValuePair()
    pair.key = key
    pair.value = value
    return pair
}

/// The server said a collection does not exist (the store turns it into a message about what to run).
struct MilvusMissingCollection: Error {
    let reason: String
}

/// One column of a write: a field's values for every row.
enum MilvusColumn {
    case int64(String, [Int64])
    case double(String, [Double])
    case string(String, [String])
    case json(String, [String])
    case floatVector(String, dimension: Int, [Float])

    var fieldData: Milvus_Proto_Schema_FieldData {
        var data = Milvus_Proto_Schema_FieldData()
        var scalars = Milvus_Proto_Schema_ScalarField()
        switch self {
        case let .int64(name, values):
            data.fieldName = name; data.type = .int64
            scalars.longData.data = values
            data.scalars = scalars
        case let .double(name, values):
            data.fieldName = name; data.type = .double
            scalars.doubleData.data = values
            data.scalars = scalars
        case let .string(name, values):
            data.fieldName = name; data.type = .varChar
            scalars.stringData.data = values
            data.scalars = scalars
        case let .json(name, values):
            data.fieldName = name; data.type = .json
            scalars.jsonData.data = values.map { Data($0.utf8) }
            data.scalars = scalars
        case let .floatVector(name, dimension, values):
            data.fieldName = name; data.type = .floatVector
            var vectors = Milvus_Proto_Schema_VectorField()
            vectors.dim = Int64(dimension)
            vectors.floatVector.data = values
            data.vectors = vectors
        }
        return data
    }
}

/// The columns of a query's or a search's rows, by field name.
struct MilvusRows {
    private var fields: [String: Milvus_Proto_Schema_FieldData] = [:]
    /// The timestamp a query read at (0 where a server does not say).
    var sessionTimestamp: UInt64 = 0

    init(_ data: [Milvus_Proto_Schema_FieldData]) {
        for field in data { fields[field.fieldName] = field }
    }

    var count: Int {
        guard let any = fields.values.first else { return 0 }
        switch any.field {
        case let .scalars(s)?:
            switch s.data {
            case let .longData(a)?: return a.data.count
            case let .intData(a)?: return a.data.count
            case let .stringData(a)?: return a.data.count
            case let .doubleData(a)?: return a.data.count
            case let .jsonData(a)?: return a.data.count
            default: return 0
            }
        case let .vectors(v)?:
            if case let .floatVector(f)? = v.data, v.dim > 0 { return f.data.count / Int(v.dim) }
            return 0
        default: return 0
        }
    }

    func int64(_ name: String) -> [Int64] {
        guard case let .scalars(s)? = fields[name]?.field else { return [] }
        switch s.data {
        case let .longData(a)?: return a.data
        case let .intData(a)?: return a.data.map(Int64.init)
        default: return []
        }
    }

    func double(_ name: String) -> [Double] {
        guard case let .scalars(s)? = fields[name]?.field, case let .doubleData(a)? = s.data else { return [] }
        return a.data
    }

    func string(_ name: String) -> [String] {
        guard case let .scalars(s)? = fields[name]?.field, case let .stringData(a)? = s.data else { return [] }
        return a.data
    }

    func json(_ name: String) -> [String] {
        guard case let .scalars(s)? = fields[name]?.field, case let .jsonData(a)? = s.data else { return [] }
        return a.data.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Each row's vector.
    func vectors(_ name: String) -> [[Float]] {
        guard case let .vectors(v)? = fields[name]?.field, case let .floatVector(f)? = v.data, v.dim > 0 else { return [] }
        let dimension = Int(v.dim)
        return stride(from: 0, to: f.data.count, by: dimension).map { Array(f.data[$0..<min($0 + dimension, f.data.count)]) }
    }
}
