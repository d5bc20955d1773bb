import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Everything the API answers with a 4xx (or, for a broken library, a 5xx), each case carrying the bad input.
/// Rendered as `{"error": {"code": "...", "message": "..."}}` by `ErrorMiddleware`.
public enum APIError: Error, Equatable, CustomStringConvertible {
    case routeNotFound(method: String, path: String)
    case methodNotAllowed(method: String, path: String)
    case imageNotFound(id: String)
    case imageFileMissing(id: Int64)
    /// The image was fetched from another host (a list, S3): its original is there, not served here.
    case remoteOriginal(id: Int64, url: String)
    case badParameter(name: String, value: String, reason: String)
    case missingParameter(name: String)
    case emptyQuery
    case unsupportedContentType(String?, expected: [String])
    case malformedJSON(reason: String)
    case malformedMultipart(reason: String)
    case missingField(name: String)
    case badBase64(field: String)
    case uploadTooLarge(limit: Int)
    case imageTooLarge(width: Int, height: Int, limitPixels: Int)
    case unsupportedImage(reason: String)
    case unauthorized
    /// The `Host` header names neither a loopback name nor a loopback address (DNS rebinding) on a server without a token.
    case forbiddenHost(String)
    /// A state-changing request sent by a page of another site (`Origin` / `Sec-Fetch-Site`).
    case crossSiteRequest(origin: String)
    /// A text query longer than the limit, refused before tokenization.
    case queryTooLong(bytes: Int, limit: Int)
    case indexingInProgress
    case nothingToIndex
    /// The server keeps no uploads folder (a shared store without `--uploads DIR`).
    case uploadsDisabled
    /// A caption or hybrid search on a library without captions (or a server without their sentence model).
    case captionsUnavailable(path: String)
    /// The store (a database server) cannot be reached; requests succeed again once it is back.
    case storeUnavailable(reason: String)
    case internalFailure(String)

    public var status: HTTPResponse.Status {
        switch self {
        case .routeNotFound, .imageNotFound, .imageFileMissing, .remoteOriginal: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .badParameter, .missingParameter, .emptyQuery, .captionsUnavailable, .queryTooLong, .malformedJSON, .malformedMultipart, .missingField, .badBase64:
            .badRequest
        case .unsupportedContentType: .unsupportedMediaType
        case .uploadTooLarge, .imageTooLarge: .contentTooLarge
        case .unsupportedImage: .unprocessableContent
        case .unauthorized: .unauthorized
        case .forbiddenHost, .crossSiteRequest: .forbidden
        case .indexingInProgress, .nothingToIndex: .conflict
        case .uploadsDisabled: .notImplemented
        case .storeUnavailable: .serviceUnavailable
        case .internalFailure: .internalServerError
        }
    }

    /// Stable machine-readable code.
    public var code: String {
        switch self {
        case .routeNotFound: "route_not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .imageNotFound: "image_not_found"
        case .imageFileMissing: "image_file_missing"
        case .remoteOriginal: "remote_original"
        case .badParameter: "bad_parameter"
        case .missingParameter: "missing_parameter"
        case .emptyQuery: "empty_query"
        case .unsupportedContentType: "unsupported_content_type"
        case .malformedJSON: "malformed_json"
        case .malformedMultipart: "malformed_multipart"
        case .missingField: "missing_field"
        case .badBase64: "bad_base64"
        case .uploadTooLarge: "upload_too_large"
        case .imageTooLarge: "image_too_large"
        case .unsupportedImage: "unsupported_image"
        case .unauthorized: "unauthorized"
        case .forbiddenHost: "forbidden_host"
        case .crossSiteRequest: "cross_site_request"
        case .queryTooLong: "query_too_long"
        case .indexingInProgress: "indexing_in_progress"
        case .nothingToIndex: "nothing_to_index"
        case .uploadsDisabled: "uploads_disabled"
        case .captionsUnavailable: "captions_unavailable"
        case .storeUnavailable: "store_unavailable"
        case .internalFailure: "internal_error"
        }
    }

    public var description: String {
        switch self {
        case let .routeNotFound(method, path): "no route \(method) \(path)"
        case let .methodNotAllowed(method, path): "\(path) does not accept \(method)"
        case let .imageNotFound(id): "no image with id \(id)"
        case let .imageFileMissing(id): "the file of image \(id) is no longer on disk; run an index to update the library"
        case let .remoteOriginal(id, url): "image \(id) was fetched from \(url); its original is there (this server serves only its thumbnail)"
        case let .badParameter(name, value, reason): "bad value \(value.debugDescription) for \(name): \(reason)"
        case let .missingParameter(name): "missing parameter \(name)"
        case .emptyQuery: "the query is empty"
        case let .unsupportedContentType(type, expected):
            "unsupported content type \(type.map { $0.debugDescription } ?? "(none)"); expected \(expected.joined(separator: " or "))"
        case let .malformedJSON(reason): "malformed JSON body: \(reason)"
        case let .malformedMultipart(reason): "malformed multipart body: \(reason)"
        case let .missingField(name): "missing field \(name)"
        case let .badBase64(field): "\(field) is not valid base64"
        case let .uploadTooLarge(limit): "the request body is larger than the limit of \(limit) bytes"
        case let .imageTooLarge(width, height, limit): "the image is \(width)×\(height) pixels; the limit is \(limit) pixels"
        case let .unsupportedImage(reason): "cannot use this image: \(reason)"
        case .unauthorized: "missing or wrong bearer token"
        case let .forbiddenHost(host):
            "this server answers only to loopback host names (localhost, 127.0.0.1, [::1]), not \(host.debugDescription); serve with --host and --auth-token to reach it by another name"
        case let .crossSiteRequest(origin):
            "requests that change the library are not accepted from another site (\(origin)); allow one origin with --cors ORIGIN"
        case let .queryTooLong(bytes, limit): "the query is \(bytes) bytes of UTF-8; the limit is \(limit)"
        case let .captionsUnavailable(path):
            "the \(path) search path needs captions: this library has none (index it with `glimpse index --captions`)"
        case .indexingInProgress: "an indexing run is already in progress"
        case .nothingToIndex: "the library has no collection folders yet: run `glimpse index FOLDER` first"
        case .uploadsDisabled: "this server keeps no uploads: serve a shared store with --uploads DIR (a folder every server sees) to accept them"
        case let .storeUnavailable(reason): "the store is unavailable: \(reason); try again shortly"
        case let .internalFailure(message): message
        }
    }
}

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if case .unauthorized = self { headers[.wwwAuthenticate] = "Bearer" }
        let body = ErrorBody(error: .init(code: code, message: description))
        let data = try Responses.encoder.encode(body)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The JSON shape of every error.
struct ErrorBody: Codable {
    struct Detail: Codable { let code: String; let message: String }
    let error: Detail
}
