import Foundation
import HTTPTypes
import Hummingbird
import GlimpseStore
import Logging

/// Turns every error into a JSON error response: the API's own `APIError`s, Hummingbird's (no route, body too
/// large), JSON decoding errors; anything else is logged and answered 500 without internals.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = GlimpseRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, request: request)
            if case .internalFailure = apiError {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            return try apiError.response(from: request, context: context)
        }
    }

    static func apiError(for error: Error, request: Request) -> APIError {
        switch error {
        case let error as APIError: return error
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .routeNotFound(method: request.method.rawValue, path: request.uri.path)
            case .methodNotAllowed: return .methodNotAllowed(method: request.method.rawValue, path: request.uri.path)
            case .contentTooLarge: return .uploadTooLarge(limit: 0)
            case .unauthorized: return .unauthorized
            default:
                if (400..<500).contains(error.status.code) {
                    return .badParameter(name: "request", value: request.uri.path, reason: error.body ?? error.status.reasonPhrase)
                }
                return .internalFailure("internal error")
            }
        case let error as DecodingError: return .malformedJSON(reason: Self.describe(error))
        case let error as StoreError:
            if case let .unavailable(_, reason) = error { return .storeUnavailable(reason: reason) }
            return .internalFailure("internal error")
        default: return .internalFailure("internal error")
        }
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(_, c), let .valueNotFound(_, c), let .keyNotFound(_, c), let .dataCorrupted(c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? c.debugDescription : "\(path): \(c.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
