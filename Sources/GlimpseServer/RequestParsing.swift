import Foundation
import GlimpseEngine
import GlimpseStore
import Hummingbird

/// Reading parameters and bodies from requests, each bad input turned into an `APIError` that names it.
enum RequestParsing {
    static func id(_ context: GlimpseRequestContext) throws -> Int64 {
        let raw = context.parameters.get("id") ?? ""
        guard let id = Int64(raw), id > 0 else {
            throw APIError.badParameter(name: "id", value: raw, reason: "must be a positive integer")
        }
        return id
    }

    static func integer(_ name: String, _ raw: String?, range: ClosedRange<Int>) throws -> Int? {
        guard let raw else { return nil }
        guard let value = Int(raw), range.contains(value) else {
            throw APIError.badParameter(name: name, value: raw, reason: "must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    static func score(_ raw: String?) throws -> Float? {
        guard let raw else { return nil }
        guard let value = Float(raw), value.isFinite, (-1...1).contains(value) else {
            throw APIError.badParameter(name: "min_score", value: raw, reason: "must be a number in -1...1")
        }
        return value
    }

    static func options(limit: String?, offset: String?, minScore: String?, ef: String? = nil, path: String? = nil,
                        filter: [String] = [], configuration: ServerConfiguration) throws -> SearchOptions {
        SearchOptions(limit: try integer("limit", limit, range: 1...configuration.maxLimit) ?? configuration.defaultLimit,
                      offset: try integer("offset", offset, range: 0...10_000) ?? 0,
                      minScore: try score(minScore), ef: try integer("ef", ef, range: 1...1000), path: try searchPath(path),
                      filter: try metadataFilter(filter))
    }

    /// Filter clauses (each may join several with "and"); nil when there are none.
    static func metadataFilter(_ clauses: [String]) throws -> MetadataFilter? {
        guard !clauses.isEmpty else { return nil }
        guard clauses.count <= 32, clauses.allSatisfy({ $0.utf8.count <= 2048 }) else {
            throw APIError.badParameter(name: "filter", value: String(clauses.joined(separator: " and ").prefix(80)), reason: "at most 32 clauses of 2048 bytes")
        }
        do { return try MetadataFilter(parsing: clauses) } catch let error as MetadataFilterError {
            throw APIError.badParameter(name: "filter", value: error.clause, reason: error.reason)
        }
    }

    static func searchPath(_ raw: String?) throws -> SearchPath {
        guard let raw else { return .clip }
        guard let path = SearchPath(rawValue: raw) else {
            throw APIError.badParameter(name: "path", value: raw, reason: "must be clip, caption or hybrid")
        }
        return path
    }

    static func options(_ request: Request, configuration: ServerConfiguration) throws -> SearchOptions {
        let query = request.uri.queryParameters
        return try options(limit: query["limit"].map(String.init), offset: query["offset"].map(String.init),
                           minScore: query["min_score"].map(String.init), ef: query["ef"].map(String.init),
                           path: query["path"].map(String.init), filter: query.getAll("filter").map { String($0) },
                           configuration: configuration)
    }

    /// The whole body, refusing more than the upload limit.
    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.uploadTooLarge(limit: limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.uploadTooLarge(limit: limit)
        }
    }

    static func mediaType(_ request: Request) -> String? {
        request.headers[.contentType].map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
    }

    /// The image of an upload: the `image` field of a multipart form, or a raw `image/*` body.
    static func image(_ request: Request, limit: Int) async throws -> [UInt8] {
        let type = mediaType(request)
        switch type {
        case "multipart/form-data":
            guard let boundary = request.headers[.contentType].flatMap(MultipartForm.boundary) else {
                throw APIError.malformedMultipart(reason: "the content type has no boundary")
            }
            let form = try MultipartForm(body: try await body(request, limit: limit), boundary: boundary)
            guard let part = form.part(named: "image") else { throw APIError.missingField(name: "image") }
            return part.body
        case let type? where type.hasPrefix("image/"):
            return try await body(request, limit: limit)
        default:
            throw APIError.unsupportedContentType(request.headers[.contentType], expected: ["multipart/form-data", "image/*"])
        }
    }

    /// Base64 (standard or URL-safe, with or without a `data:...;base64,` prefix) to bytes.
    static func base64(_ text: String, field: String) throws -> [UInt8] {
        var payload = Substring(text)
        if payload.hasPrefix("data:"), let comma = payload.firstIndex(of: ",") { payload = payload[payload.index(after: comma)...] }
        var normalized = payload.filter { !$0.isWhitespace }.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while normalized.count % 4 != 0 { normalized += "=" }
        guard let data = Data(base64Encoded: normalized), !data.isEmpty else { throw APIError.badBase64(field: field) }
        return Array(data)
    }
}
