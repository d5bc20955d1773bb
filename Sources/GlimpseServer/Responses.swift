import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Building responses: JSON bodies, bytes with caching headers.
enum Responses {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func bytes(_ data: some Collection<UInt8>, contentType: String, headers extra: HTTPFields = [:],
                      status: HTTPResponse.Status = .ok) -> Response {
        var headers: HTTPFields = [.contentType: contentType]
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A cacheable body: answers 304 when the client already has this version (`If-None-Match`).
    static func cached(_ data: Data, contentType: String, etag: String, cacheControl: String, request: Request) -> Response {
        let headers: HTTPFields = [.eTag: etag, .cacheControl: cacheControl]
        if let notModified = notModified(etag: etag, headers: headers, request: request) { return notModified }
        return bytes(data, contentType: contentType, headers: headers)
    }

    /// A cacheable file, streamed from disk in chunks (never read whole into memory).
    static func file(_ path: String, contentType: String, etag: String, cacheControl: String, request: Request,
                     context: GlimpseRequestContext) async throws -> Response {
        var headers: HTTPFields = [.eTag: etag, .cacheControl: cacheControl]
        if let notModified = notModified(etag: etag, headers: headers, request: request) { return notModified }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
        let body = try await FileIO().loadFile(path: path, context: context, chunkLength: 64 * 1024)
        headers[.contentType] = contentType
        if let size { headers[.contentLength] = String(size) }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// 304 when the client already has this version (`If-None-Match`).
    private static func notModified(etag: String, headers: HTTPFields, request: Request) -> Response? {
        guard let match = request.headers[.ifNoneMatch],
              match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) else { return nil }
        var notModified = headers
        notModified[.contentLength] = "0"
        return Response(status: .notModified, headers: notModified)
    }
}
