// glimpse-fixture-server: an HTTP server on 127.0.0.1 that serves fixture images the way real hosts misbehave,
// for the list-indexing tests and the downloader benchmark. Prints "listening on PORT" when ready.
//
//   glimpse-fixture-server --root DIR [--port P] [--latency-ms N]
//
// Routes (NAME is a file in DIR):
//   /images/NAME                 the file, with ETag and Last-Modified (answers 304 to a matching condition)
//   /redirect/N/NAME             N redirects (302), then the image;  /redirect-loop  redirects to itself
//   /status/CODE                 that status, a short text body
//   /flaky/KEY/NAME              500 the first time KEY is asked for, then the image
//   /ratelimited/KEY/NAME        429 with Retry-After: 1 the first time, then the image
//   /stall/NAME                  headers and a few bytes, then nothing for 10 minutes
//   /huge                        declares 1 GB;  /huge-chunked  streams 64 MB without a length
//   /html/NAME                   an HTML error page with status 200 (whatever NAME's extension says)
//   /truncated/NAME              the first third of the image
//   /stats                       JSON: completed responses per path
//   /reset                       clears the counters
import Foundation
import Hummingbird
import NIOCore

final class Counters: @unchecked Sendable {
    private let lock = NSLock()
    private var completed: [String: Int] = [:]
    private var seen: Set<String> = []
    func complete(_ path: String) { lock.withLock { completed[path, default: 0] += 1 } }
    /// True the first time `key` is asked about.
    func first(_ key: String) -> Bool { lock.withLock { seen.insert(key).inserted } }
    func json() -> String {
        lock.withLock {
            let data = try! JSONSerialization.data(withJSONObject: completed, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
    }
    func reset() { lock.withLock { completed = [:]; seen = [] } }
}

var arguments = CommandLine.arguments.dropFirst().makeIterator()
var root = FileManager.default.currentDirectoryPath
var port = 0
var latency = 0.0
while let argument = arguments.next() {
    switch argument {
    case "--root": root = arguments.next()!
    case "--port": port = Int(arguments.next()!)!
    case "--latency-ms": latency = Double(arguments.next()!)! / 1000
    default: FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8)); exit(2)
    }
}
let counters = Counters()
let rootPath = root
let delay = latency

func file(_ name: String) -> Data? {
    guard !name.contains("/"), !name.hasPrefix(".") else { return nil }
    return FileManager.default.contents(atPath: rootPath + "/" + name)
}

func imageResponse(_ request: Request, name: String, path: String) -> Response {
    guard let data = file(name) else { return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "no such image"))) }
    let etag = "\"\(data.count)-\(data.prefix(64).reduce(0) { ($0 &* 31 &+ Int($1)) & 0xFFFFFF })\""
    let modified = "Tue, 01 Dec 2026 10:00:00 GMT"
    if request.headers[.ifNoneMatch] == etag || request.headers[.ifModifiedSince] == modified {
        counters.complete(path)
        return Response(status: .notModified, headers: [.eTag: etag])
    }
    let type = name.hasSuffix(".png") ? "image/png" : name.hasSuffix(".webp") ? "image/webp" : "image/jpeg"
    let buffer = ByteBuffer(bytes: data)
    return Response(status: .ok, headers: [.contentType: type, .eTag: etag, .lastModified: modified],
                    body: ResponseBody(contentLength: data.count) { writer in
                        try await writer.write(buffer)
                        counters.complete(path)
                    })
}

let router = Router()
router.middlewares.add(LatencyMiddleware(seconds: delay))
router.get("/images/:name") { request, context in imageResponse(request, name: context.parameters.get("name")!, path: request.uri.path) }
router.get("/redirect/:n/:name") { request, context -> Response in
    let n = Int(context.parameters.get("n")!) ?? 0
    let name = context.parameters.get("name")!
    let next = n <= 1 ? "/images/\(name)" : "/redirect/\(n - 1)/\(name)"
    counters.complete(request.uri.path)
    return Response(status: .found, headers: [.location: next])
}
router.get("/redirect-loop") { request, _ -> Response in
    counters.complete(request.uri.path)
    return Response(status: .found, headers: [.location: "/redirect-loop"])
}
router.get("/status/:code") { request, context -> Response in
    counters.complete(request.uri.path)
    let code = Int(context.parameters.get("code")!) ?? 500
    return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "status \(code)")))
}
router.get("/flaky/:key/:name") { request, context -> Response in
    if counters.first("flaky/" + context.parameters.get("key")!) {
        counters.complete(request.uri.path)
        return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "try again")))
    }
    return imageResponse(request, name: context.parameters.get("name")!, path: request.uri.path)
}
router.get("/ratelimited/:key/:name") { request, context -> Response in
    if counters.first("ratelimited/" + context.parameters.get("key")!) {
        counters.complete(request.uri.path)
        return Response(status: .tooManyRequests, headers: [.retryAfter: "1"], body: .init(byteBuffer: ByteBuffer(string: "slow down")))
    }
    return imageResponse(request, name: context.parameters.get("name")!, path: request.uri.path)
}
router.get("/stall/:name") { request, context -> Response in
    let data = file(context.parameters.get("name")!) ?? Data(count: 1000)
    return Response(status: .ok, headers: [.contentType: "image/jpeg"], body: ResponseBody(contentLength: data.count) { writer in
        try await writer.write(ByteBuffer(bytes: data.prefix(16)))
        try await Task.sleep(for: .seconds(600))
    })
}
router.get("/huge") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "image/jpeg", .contentLength: "1073741824"], body: ResponseBody { writer in
        try await writer.write(ByteBuffer(bytes: [0xFF, 0xD8, 0xFF, 0xE0]))
        try await Task.sleep(for: .seconds(600))
    })
}
router.get("/huge-chunked") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "image/jpeg"], body: ResponseBody { writer in
        var chunk = ByteBuffer(bytes: [0xFF, 0xD8, 0xFF, 0xE0])
        chunk.writeBytes([UInt8](repeating: 0, count: 1 << 20))
        for _ in 0..<64 { try await writer.write(chunk) }
        try await writer.finish(nil)
    })
}
router.get("/html/:name") { request, _ -> Response in
    counters.complete(request.uri.path)
    return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: "<!DOCTYPE html><html><body>Image not found</body></html>")))
}
router.get("/truncated/:name") { request, context -> Response in
    guard let data = file(context.parameters.get("name")!) else { return Response(status: .notFound) }
    counters.complete(request.uri.path)
    return Response(status: .ok, headers: [.contentType: "image/jpeg"], body: .init(byteBuffer: ByteBuffer(bytes: data.prefix(data.count / 3))))
}
router.get("/stats") { _, _ -> Response in
    Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: counters.json())))
}
router.get("/reset") { _, _ -> Response in
    counters.reset()
    return Response(status: .noContent)
}

struct LatencyMiddleware<Context: RequestContext>: RouterMiddleware {
    let seconds: Double
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if seconds > 0 { try await Task.sleep(for: .milliseconds(Int(seconds * 1000))) }
        return try await next(request, context)
    }
}

let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "glimpse-fixture-server"),
                      onServerRunning: { channel in
                          FileHandle.standardOutput.write(Data("listening on \(channel.localAddress?.port ?? 0)\n".utf8))
                      })
try await app.runService()
