import HTTPTypes
import Hummingbird

/// One route of the server: method, path template (OpenAPI syntax, `{id}`), and handler. The router is built
/// from the list of endpoints, and the OpenAPI test checks the same list against the document.
public struct Endpoint: Sendable {
    public typealias Handler = @Sendable (Request, GlimpseRequestContext) async throws -> Response
    public let method: HTTPRequest.Method
    public let path: String
    let handler: Handler

    init(_ method: HTTPRequest.Method, _ path: String, _ handler: @escaping Handler) {
        self.method = method
        self.path = path
        self.handler = handler
    }
}
