/// Why a tokenizer could not be loaded; every case names the file.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    case missingFiles(directory: String)
    case unreadable(path: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFiles(directory):
            "\(directory): no tokenizer.json, and no vocab.json + merges.txt"
        case let .unreadable(path, reason): "\(path): \(reason)"
        case let .unsupported(path, reason): "\(path): unsupported tokenizer: \(reason)"
        }
    }
}
