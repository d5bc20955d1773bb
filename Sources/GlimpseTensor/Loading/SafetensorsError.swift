/// Why a safetensors file could not be read; every case names the file.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, reason: String)
    case tooSmall(path: String, size: Int)
    case badHeader(path: String, reason: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case outOfBounds(path: String, tensor: String)
    case missingTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], actual: [Int])

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason): "\(path): cannot open: \(reason)"
        case let .tooSmall(path, size): "\(path): not a safetensors file (only \(size) bytes)"
        case let .badHeader(path, reason): "\(path): corrupt safetensors header: \(reason)"
        case let .unsupportedDType(path, tensor, dtype):
            "\(path): tensor \(tensor) has dtype \(dtype); supported are F32, F16 and BF16"
        case let .outOfBounds(path, tensor): "\(path): tensor \(tensor) points outside the file (truncated?)"
        case let .missingTensor(path, tensor): "\(path): tensor \(tensor) is missing"
        case let .shapeMismatch(path, tensor, expected, actual):
            "\(path): tensor \(tensor) has shape \(actual), expected \(expected)"
        }
    }
}
