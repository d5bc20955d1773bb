import HTTPTypes
import Hummingbird

/// Keeps web pages of other sites away from a library served on loopback.
///
/// - DNS rebinding: a page on `evil.example` whose name is re-pointed at 127.0.0.1 reaches the server with
///   `Host: evil.example`. Without a token, only loopback host names and addresses are answered (a request
///   without `Host`, which no browser sends, is let through for command-line clients).
/// - Cross-site writes: a page on another site can send `POST`/`DELETE` (a form, `fetch` with `no-cors`) even
///   though it cannot read the answer. Requests that are not GET/HEAD/OPTIONS are refused when `Origin` names
///   another origin than the server's own (or `--cors ORIGIN`), or when `Sec-Fetch-Site` says the request comes
///   from another site or origin.
struct SameOriginMiddleware: RouterMiddleware {
    typealias Context = GlimpseRequestContext
    /// True when the server has no token: then only loopback `Host`s are answered.
    let requireLoopbackHost: Bool
    /// The origin `--cors` allows, if any.
    let allowedOrigin: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let host = request.head.authority  // HTTP/1.1 `Host`, as HTTPTypes reads it
        if requireLoopbackHost, let host, !Self.isLoopbackAuthority(host) { throw APIError.forbiddenHost(host) }
        if ![.get, .head, .options].contains(request.method) {
            if let origin = request.headers[.origin] {
                let own = host.map { ["http://" + $0.lowercased(), "https://" + $0.lowercased()] } ?? []
                let normalised = origin.lowercased()
                guard own.contains(normalised) || normalised == allowedOrigin?.lowercased() else {
                    throw APIError.crossSiteRequest(origin: origin)
                }
            } else if let site = request.headers[Self.secFetchSite]?.lowercased(), site != "same-origin", site != "none" {
                throw APIError.crossSiteRequest(origin: "Sec-Fetch-Site: \(site)")
            }
        }
        return try await next(request, context)
    }

    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!

    /// `localhost`, `*.localhost`, an IPv4 address in 127.0.0.0/8 or `[::1]`, with or without a port.
    /// `127.0.0.1.evil.example` is not loopback: addresses are parsed, not matched by prefix.
    static func isLoopbackAuthority(_ authority: String) -> Bool {
        var host = Substring(authority.lowercased())
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let rest = host[host.index(after: close)...]
            guard rest.isEmpty || (rest.hasPrefix(":") && isPort(rest.dropFirst())) else { return false }
            return isLoopbackAddress(String(host[host.index(after: host.startIndex)..<close]))
        }
        if let colon = host.lastIndex(of: ":") {
            guard isPort(host[host.index(after: colon)...]) else { return false }
            host = host[..<colon]
        }
        if host.hasSuffix(".") { host = host.dropLast() }  // the absolute form "localhost."
        return host == "localhost" || host.hasSuffix(".localhost") || isLoopbackAddress(String(host))
    }

    /// 127.0.0.0/8 in dotted-quad form, or ::1.
    static func isLoopbackAddress(_ address: String) -> Bool {
        if address == "::1" || address == "0:0:0:0:0:0:0:1" { return true }
        let parts = address.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCIIDigit), let value = Int(part), value <= 255 else { return false }
        }
        return parts[0] == "127"
    }

    static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy(\.isASCIIDigit)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
