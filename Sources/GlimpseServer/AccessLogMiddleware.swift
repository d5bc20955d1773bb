import Foundation
import Hummingbird
import Logging

/// One structured log line per request (method, path without its query, route, status, duration), and the
/// request metrics. Outermost, so it sees the final status of errors too.
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = GlimpseRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        var status = 500
        defer {
            let elapsed = clock.now - start
            let route = context.endpointPath ?? "unmatched"
            metrics.record(method: request.method.rawValue, route: route, status: status, duration: elapsed)
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            context.logger.info("request", metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "route": .string(route),
                "status": .stringConvertible(status),
                "duration_ms": .string(String(format: "%.2f", ms)),
            ])
        }
        let response = try await next(request, context)
        status = response.status.code
        return response
    }
}
