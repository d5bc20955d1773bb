import Foundation

/// A `postgres://user[:password]@host[:port]/database[?schema=NAME&sslmode=MODE&vector=halfvec]` location, as
/// libpq writes it (`postgresql://` too; user, password and names percent-decoded).
///
/// - `schema`: the tables live in this schema (created when missing), so one database can hold several collections.
/// - `sslmode`: `disable`, `prefer` (the default: TLS when the server offers it), `require` (TLS or fail, no
///   certificate check, as libpq), `verify-full` (TLS with the certificate checked against the host name).
/// - `vector=halfvec`: the HNSW index holds half-precision vectors (half the memory; embeddings stay float32).
public struct PostgresURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require, verifyFull = "verify-full" }

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var schema: String
    public var tls: TLSMode
    public var halfPrecisionIndex: Bool

    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    public init(_ text: String) throws {
        func bad(_ reason: String) -> StoreError { .badLocation(Self.redacted(text), reason: reason) }
        guard Self.isPostgres(text), let url = URLComponents(string: text) else {
            throw bad("expected postgres://user[:password]@host[:port]/database")
        }
        guard let host = url.host, !host.isEmpty else { throw bad("no host") }
        guard let user = url.percentEncodedUser?.removingPercentEncoding, !user.isEmpty else { throw bad("no user name") }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database name after the host (…/DATABASE)") }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = url.port ?? 5432
        self.user = user
        self.password = url.percentEncodedPassword?.removingPercentEncoding
        self.database = database
        schema = "public"
        tls = .prefer
        halfPrecisionIndex = false
        for item in url.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "schema":
                guard Self.isIdentifier(value) else { throw bad("schema must be letters, digits and _ (not starting with a digit), got \(value.debugDescription)") }
                schema = value
            case "sslmode":
                switch value {
                case "disable": tls = .disable
                case "allow", "prefer": tls = .prefer
                case "require": tls = .require
                case "verify-ca", "verify-full": tls = .verifyFull
                default: throw bad("unknown sslmode \(value.debugDescription) (disable, prefer, require, verify-full)")
                }
            case "vector":
                guard value == "vector" || value == "halfvec" else { throw bad("vector must be vector or halfvec, got \(value.debugDescription)") }
                halfPrecisionIndex = value == "halfvec"
            default:
                throw bad("unknown parameter \(item.name.debugDescription) (schema, sslmode, vector)")
            }
        }
    }

    /// The URL without its password, for messages and logs.
    public var redacted: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var text = "postgres://\(user)@\(hostPart):\(port)/\(database)"
        if schema != "public" { text += "?schema=\(schema)" }
        return text
    }

    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@"), let scheme = text.range(of: "://") else { return text }
        let credentials = text[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, !("0"..."9").contains(first), s.count <= 63 else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
