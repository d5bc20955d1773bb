import Foundation

/// Why an image could not be fetched, or a list or bucket not read. Per-row errors end up in the index summary
/// (`failed: [{"id", "url", "error"}]`); they never stop a run.
public enum SourceError: Error, Sendable, Equatable, CustomStringConvertible {
    case unsupportedURL(String, reason: String)
    /// The host resolves to a private, loopback or link-local address (refused without --allow-private-network).
    case privateAddress(host: String, address: String)
    case cannotResolve(host: String, reason: String)
    case httpStatus(Int, reason: String)
    case tooManyRedirects(Int)
    case tooLarge(limit: Int64, declared: Int64?)
    case notAnImage(String)
    case timedOut(String)
    case network(String)
    case unreadableList(path: String, reason: String)
    case s3(String)
    case credentials(String)

    public var description: String {
        switch self {
        case let .unsupportedURL(url, reason): "unsupported URL '\(url)': \(reason)"
        case let .privateAddress(host, address):
            "refused: \(host) resolves to \(address), a private, loopback or link-local address (use --allow-private-network to allow)"
        case let .cannotResolve(host, reason): "cannot resolve \(host): \(reason)"
        case let .httpStatus(code, reason): "HTTP \(code)\(reason.isEmpty ? "" : " " + reason)"
        case let .tooManyRedirects(n): "more than \(n) redirects"
        case let .tooLarge(limit, declared):
            declared.map { "too large: \($0) bytes declared, the limit is \(limit)" } ?? "too large: more than \(limit) bytes"
        case let .notAnImage(what): "not an image: \(what)"
        case let .timedOut(what): "timed out \(what)"
        case let .network(reason): "network error: \(reason)"
        case let .unreadableList(path, reason): "cannot read list \(path): \(reason)"
        case let .s3(reason): "S3: \(reason)"
        case let .credentials(reason): "S3 credentials: \(reason)"
        }
    }

    /// Worth another try after a pause (rate limits, server errors, timeouts, dropped connections).
    var isTransient: Bool {
        switch self {
        case let .httpStatus(code, _): code == 429 || code == 408 || (500...599).contains(code)
        case .timedOut, .network: true
        default: false
        }
    }
}
