import Hummingbird

/// The bearer-token check of `--auth-token`, applied per route: the router wraps the handler of every endpoint
/// whose template is under `/api` (and `/metrics`), so the decision follows the route the request reached, never the
/// spelling of its path (`//api/…`, `/api//…`, `/./api/…` and percent-encodings all reach the same handler, and
/// that handler checks the token). GET requests may give the token as `?access_token=` instead, so `<img src>` works
/// in the web UI. The page, the OpenAPI document and /healthz stay public.
struct TokenAuthorization: Sendable {
    let token: String

    /// Whether the endpoint with this path template needs the token.
    static func protects(template: String) -> Bool {
        template == "/api" || template.hasPrefix("/api/") || template == "/metrics"
    }

    func check(_ request: Request) throws {
        var given: String?
        if let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") {
            given = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        } else if request.method == .get || request.method == .head {
            given = request.uri.queryParameters["access_token"].map(String.init)
        }
        guard let given, Self.constantTimeEqual(given, token) else { throw APIError.unauthorized }
    }

    func wrap(_ handler: @escaping Endpoint.Handler) -> Endpoint.Handler {
        { request, context in
            try check(request)
            return try await handler(request, context)
        }
    }

    /// Compares every byte whatever the first difference, so the time taken says nothing about the token.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { difference |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return difference == 0
    }
}
