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
        if let match = request.headers[.ifNoneMatch],
           match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag || $0 == "*" }) {
            var notModified = headers
            notModified[.contentLength] = "0"
            return Response(status: .notModified, headers: notModified)
        }
        return bytes(data, contentType: contentType, headers: headers)
    }
}
