/// Why a library could not be opened or used.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case cannotCreate(path: String, reason: String)
    case notALibrary(path: String, reason: String)
    case modelMismatch(library: String, libraryModel: String, requested: String)
    case dimensionMismatch(library: String, expected: Int, actual: Int)
    /// A store location that is neither a folder nor a supported URL, or a URL with bad parts.
    case badLocation(String, reason: String)
    /// The database server cannot be reached or refused the connection.
    case unavailable(location: String, reason: String)
    /// The database lacks something Glimpse needs (the pgvector extension) and cannot create it.
    case missingExtension(location: String, name: String, reason: String)
    /// A query failed for another reason (the server's message).
    case queryFailed(location: String, reason: String)
    /// Captions were embedded with another sentence model than the one requested.
    case captionModelMismatch(library: String, libraryModel: String, requested: String)

    public var description: String {
        switch self {
        case let .cannotCreate(path, reason): "\(path): cannot create library: \(reason)"
        case let .notALibrary(path, reason): "\(path): not a Glimpse library: \(reason)"
        case let .modelMismatch(library, libraryModel, requested):
            "\(library): this library was indexed with model \(libraryModel), not \(requested). Search it with --model \(libraryModel), or index into another --library."
        case let .dimensionMismatch(library, expected, actual):
            "\(library): embeddings have \(expected) dimensions, got \(actual)"
        case let .badLocation(location, reason): "\(location): not a store: \(reason)"
        case let .unavailable(location, reason): "\(location): cannot reach the database: \(reason)"
        case let .missingExtension(location, name, reason):
            "\(location): the PostgreSQL extension \"\(name)\" is not available and could not be created (\(reason)); install pgvector on the server, or ask its administrator to run CREATE EXTENSION \(name)"
        case let .queryFailed(location, reason): "\(location): \(reason)"
        case let .captionModelMismatch(library, libraryModel, requested):
            "\(library): captions in this library were embedded with \(libraryModel), not \(requested). Use --sentence-model \(libraryModel), or index into another --library."
        }
    }
}
