/// Why a JSON configuration file (config.json, preprocessor_config.json, ...) could not be used.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case notJSON(path: String, reason: String)
    case wrongType(path: String, key: String, expected: String)
    case invalidValue(path: String, key: String, reason: String)
    case unsupported(path: String, reason: String)

    public var description: String {
        switch self {
        case let .missingFile(path): "\(path): file not found"
        case let .notJSON(path, reason): "\(path): not valid JSON: \(reason)"
        case let .wrongType(path, key, expected): "\(path): \"\(key)\" should be \(expected)"
        case let .invalidValue(path, key, reason): "\(path): \"\(key)\" \(reason)"
        case let .unsupported(path, reason): "\(path): \(reason)"
        }
    }
}
