/// Why a library could not be opened or used.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case cannotCreate(path: String, reason: String)
    case notALibrary(path: String, reason: String)
    case modelMismatch(library: String, libraryModel: String, requested: String)
    case dimensionMismatch(library: String, expected: Int, actual: Int)

    public var description: String {
        switch self {
        case let .cannotCreate(path, reason): "\(path): cannot create library: \(reason)"
        case let .notALibrary(path, reason): "\(path): not a Glimpse library: \(reason)"
        case let .modelMismatch(library, libraryModel, requested):
            "\(library): this library was indexed with model \(libraryModel), not \(requested). Search it with --model \(libraryModel), or index into another --library."
        case let .dimensionMismatch(library, expected, actual):
            "\(library): embeddings have \(expected) dimensions, got \(actual)"
        }
    }
}
