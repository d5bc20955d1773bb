import Foundation
import GlimpseImage
import HTTPTypes
import Hummingbird
import NIOCore

/// Every route of `glimpse serve`.
public enum Routes {
    /// The endpoints, in the order they are registered. Anything added here must also be in `OpenAPIDocument`
    /// (a test checks it).
    public static func endpoints(_ service: LibraryService) -> [Endpoint] {
        let configuration = service.configuration
        let clock = ContinuousClock()
        @Sendable func respond(_ results: [SearchResult], since start: ContinuousClock.Instant) throws -> Response {
            let elapsed = clock.now - start
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            return try Responses.json(SearchResponse(results: results, tookMs: (ms * 100).rounded() / 100))
        }
        return [
            // The web UI and the API's own description.
            Endpoint(.get, "/") { _, _ in
                Responses.bytes(Array(WebUI.html.utf8), contentType: "text/html; charset=utf-8",
                                headers: [.cacheControl: "no-cache", .contentSecurityPolicy: WebUI.contentSecurityPolicy])
            },
            Endpoint(.get, "/openapi.json") { _, _ in
                Responses.bytes(Array(OpenAPIDocument.json.utf8), contentType: "application/json; charset=utf-8")
            },
            Endpoint(.get, "/healthz") { _, _ in try Responses.json(await service.info()) },
            Endpoint(.get, "/metrics") { _, _ in
                Responses.bytes(Array(service.metrics.render().utf8), contentType: "text/plain; version=0.0.4; charset=utf-8")
            },
            Endpoint(.get, "/api/info") { _, _ in try Responses.json(await service.info()) },

            // Search.
            Endpoint(.get, "/api/search") { request, _ in
                let start = clock.now
                guard let q = request.uri.queryParameters["q"].map(String.init) else { throw APIError.missingParameter(name: "q") }
                let options = try RequestParsing.options(request, configuration: configuration)
                return try respond(try await service.search(text: q, options: options), since: start)
            },
            Endpoint(.post, "/api/search") { request, _ in
                let start = clock.now
                guard RequestParsing.mediaType(request) == "application/json" else {
                    throw APIError.unsupportedContentType(request.headers[.contentType], expected: ["application/json"])
                }
                let body = try await RequestParsing.body(request, limit: configuration.maxUploadBytes)
                let search: SearchRequest
                do { search = try JSONDecoder().decode(SearchRequest.self, from: Data(body)) } catch let error as DecodingError {
                    throw APIError.malformedJSON(reason: ErrorMiddleware.describe(error))
                }
                let options = try RequestParsing.options(
                    limit: search.limit.map(String.init), offset: search.offset.map(String.init),
                    minScore: search.minScore.map { "\($0)" }, ef: search.ef.map(String.init), path: search.path,
                    filter: search.filter?.clauses ?? [], configuration: configuration)
                switch (search.text, search.imageBase64) {
                case let (text?, nil):
                    return try respond(try await service.search(text: text, options: options), since: start)
                case let (nil, image?):
                    let bytes = try RequestParsing.base64(image, field: "image_base64")
                    return try respond(try await service.search(imageBytes: bytes, options: options), since: start)
                case (nil, nil): throw APIError.missingField(name: "text or image_base64")
                case (_?, _?): throw APIError.badParameter(name: "body", value: "text and image_base64", reason: "give only one of them")
                }
            },
            Endpoint(.post, "/api/search/image") { request, _ in
                let start = clock.now
                let options = try RequestParsing.options(request, configuration: configuration)
                let bytes = try await RequestParsing.image(request, limit: configuration.maxUploadBytes)
                return try respond(try await service.search(imageBytes: bytes, options: options), since: start)
            },

            // Images.
            Endpoint(.post, "/api/images") { request, _ in
                let bytes = try await RequestParsing.image(request, limit: configuration.maxUploadBytes)
                let record = try await service.upload(imageBytes: bytes)
                return try Responses.json(service.info(for: record), status: .created)
            },
            Endpoint(.get, "/api/images/{id}") { _, context in
                try Responses.json(service.info(for: await service.image(id: RequestParsing.id(context))))
            },
            Endpoint(.delete, "/api/images/{id}") { _, context in
                try await service.delete(id: RequestParsing.id(context))
                return Response(status: .noContent)
            },
            Endpoint(.get, "/api/images/{id}/thumbnail") { request, context in
                let record = try await service.image(id: RequestParsing.id(context))
                let data = try await service.thumbnail(for: record)
                return Responses.cached(data, contentType: "image/jpeg", etag: "\"t-\(record.contentHash)\"",
                                        cacheControl: "public, max-age=86400", request: request)
            },
            Endpoint(.get, "/api/images/{id}/file") { request, context in
                let record = try await service.image(id: RequestParsing.id(context))
                return try await Responses.file(try service.file(for: record), contentType: ImageSniffer.contentType(format: record.format),
                                                etag: "\"f-\(record.contentHash)\"", cacheControl: "public, max-age=3600",
                                                request: request, context: context)
            },
            Endpoint(.get, "/api/images/{id}/similar") { request, context in
                let start = clock.now
                let id = try RequestParsing.id(context)
                let options = try RequestParsing.options(request, configuration: configuration)
                return try respond(try await service.similar(to: id, options: options), since: start)
            },

            // Indexing.
            Endpoint(.post, "/api/index") { _, _ in try Responses.json(try await service.startRescan(), status: .accepted) },
            Endpoint(.get, "/api/index/status") { _, _ in try Responses.json(service.indexStatus.snapshot) },
        ]
    }

    /// The router over `service`: middleware (access log and metrics outermost, CORS when configured, JSON errors,
    /// the same-origin guard), then the endpoints, each under `/api` and `/metrics` wrapped in the token check when
    /// a token is configured (see `TokenAuthorization`).
    public static func router(_ service: LibraryService) -> Router<GlimpseRequestContext> {
        let router = Router(context: GlimpseRequestContext.self)
        let configuration = service.configuration
        router.add(middleware: AccessLogMiddleware(metrics: service.metrics))
        if let origin = configuration.corsOrigin {
            router.add(middleware: CORSMiddleware(allowOrigin: .custom(origin), allowHeaders: [.contentType, .authorization],
                                                  allowMethods: [.get, .post, .delete, .options]))
        }
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: SameOriginMiddleware(requireLoopbackHost: configuration.authToken == nil,
                                                    allowedOrigin: configuration.corsOrigin))
        let authorization = configuration.authToken.map(TokenAuthorization.init)
        for endpoint in endpoints(service) {
            var handler = endpoint.handler
            if let authorization, TokenAuthorization.protects(template: endpoint.path) { handler = authorization.wrap(handler) }
            router.on(RouterPath(endpoint.path), method: endpoint.method, use: handler)
        }
        return router
    }
}
