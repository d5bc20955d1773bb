/// Why an image could not be turned into pixels.
///
/// Every case carries the path (or the caller-supplied name for in-memory data) so a
/// message printed during a large indexing run points at the offending file on its own.
public enum ImageError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or read (missing, permissions, I/O error).
    case unreadable(path: String, reason: String)
    /// The file has zero bytes.
    case emptyFile(path: String)
    /// The bytes are not in a format the decoder accepts (or not an image at all).
    case unsupportedFormat(path: String)
    /// The header announces more pixels than the decoder's limit (decompression bomb guard).
    case tooManyPixels(path: String, width: Int, height: Int, limit: Int)
    /// The data ends early or is damaged.
    case corrupt(path: String, detail: String)

    /// The path or name the error is about.
    public var path: String {
        switch self {
        case .unreadable(let path, _), .emptyFile(let path), .unsupportedFormat(let path),
             .tooManyPixels(let path, _, _, _), .corrupt(let path, _):
            return path
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            return "\(path): cannot read file (\(reason))"
        case .emptyFile(let path):
            return "\(path): empty file (0 bytes)"
        case .unsupportedFormat(let path):
            return "\(path): not a supported image (unknown format)"
        case .tooManyPixels(let path, let width, let height, let limit):
            return "\(path): image too large (\(width)×\(height) = \(megapixels(width * height)) megapixels;"
                + " the limit is \(megapixels(limit)))"
        case .corrupt(let path, let detail):
            return detail.isEmpty
                ? "\(path): truncated or corrupt image data"
                : "\(path): truncated or corrupt image data (\(detail))"
        }
    }
}

private func megapixels(_ pixels: Int) -> String {
    let tenths = (pixels + 50_000) / 100_000
    return "\(tenths / 10).\(tenths % 10)"
}
