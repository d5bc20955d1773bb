import Foundation

/// Where a collection is kept, as a user writes it: a library folder (the embedded store, the default) or a
/// `postgres://` URL (`PostgresURL`), or a `milvus://` one (`MilvusURL`).
public enum StoreLocation: Sendable, Equatable {
    case folder(String)
    case postgres(PostgresURL)
    case milvus(MilvusURL)

    public init(_ text: String) throws {
        if PostgresURL.isPostgres(text) { self = .postgres(try PostgresURL(text)); return }
        if MilvusURL.isMilvus(text) { self = .milvus(try MilvusURL(text)); return }
        if let scheme = text.range(of: "://"), !text[..<scheme.lowerBound].contains("/") {
            throw StoreError.badLocation(text, reason: "unsupported scheme \(text[..<scheme.lowerBound]); use a folder, postgres://… or milvus://…")
        }
        self = .folder(text)
    }

    /// Opens the store, creating it (tables, folders) when `create` is true.
    public func open(create: Bool) async throws -> any ImageStore {
        switch self {
        case let .folder(directory): try EmbeddedStore(directory: directory, create: create)
        case let .postgres(url): try await PostgresStore.open(url, create: create)
        case let .milvus(url): try await MilvusStore.open(url, create: create)
        }
    }
}
