import Hummingbird

/// Requires `Authorization: Bearer TOKEN` on /api and /metrics when a token is configured. GET requests may
/// give it as `?access_token=` instead, so `<img src>` works in the web UI. The page, the OpenAPI document and
/// /healthz stay public.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = GlimpseRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/") || path == "/api" || path == "/metrics", request.method != .options else {
            return try await next(request, context)
        }
        var given: String?
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            given = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if request.method == .get {
            given = request.uri.queryParameters["access_token"].map(String.init)
        }
        guard let given, Self.constantTimeEqual(given, token) else { throw APIError.unauthorized }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return difference == 0
    }
}
