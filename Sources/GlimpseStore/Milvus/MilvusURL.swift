import Foundation

/// A `milvus://[user[:password]@]host[:port]/COLLECTION[?…]` location (`milvus+tls://` for TLS; port 19530 by
/// default; user, password and token percent-decoded).
///
/// Parameters:
/// - `token`: an API key or `user:password` token (Zilliz Cloud, Milvus with authentication), instead of a user.
/// - `db`: the Milvus database (default `default`).
/// - `consistency`: what a plain search waits for: `bounded` (the default: data a few seconds old may be missed,
///   searches do not wait for the latest writes), `strong` (every search sees every write acknowledged before it),
///   `eventually`. Whatever the level, this process's own writes are always seen by its next read.
/// - `m`, `ef_construction`: the HNSW index's parameters when the collection is created (16 and 200).
/// - `timeout`: seconds an RPC may take before it fails (default 60).
/// - `tls_verify=false` (with `milvus+tls://`): accept a certificate that does not verify (self-signed test servers).
public struct MilvusURL: Sendable, Equatable {
    public enum Consistency: String, Sendable { case strong, bounded, eventually }

    public var host: String
    public var port: Int
    public var tls: Bool
    public var verifyCertificate: Bool
    public var user: String?
    public var password: String?
    public var token: String?
    public var database: String?
    public var collection: String
    public var consistency: Consistency
    public var m: Int
    public var efConstruction: Int
    public var timeoutSeconds: Double

    public static func isMilvus(_ text: String) -> Bool {
        text.hasPrefix("milvus://") || text.hasPrefix("milvus+tls://")
    }

    public init(_ text: String) throws {
        func bad(_ reason: String) -> StoreError { .badLocation(PostgresURL.redacted(text), reason: reason) }
        guard Self.isMilvus(text), let url = URLComponents(string: text.replacingOccurrences(of: "milvus+tls://", with: "milvus://")) else {
            throw bad("expected milvus://host[:port]/COLLECTION or milvus+tls://…")
        }
        tls = text.hasPrefix("milvus+tls://")
        guard let host = url.host, !host.isEmpty else { throw bad("no host") }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        port = url.port ?? 19530
        user = url.percentEncodedUser?.removingPercentEncoding.flatMap { $0.isEmpty ? nil : $0 }
        password = url.percentEncodedPassword?.removingPercentEncoding
        let name = String(url.path.drop(while: { $0 == "/" }))
        guard !name.isEmpty else { throw bad("no collection name after the host (…/COLLECTION)") }
        guard Self.isCollectionName(name) else {
            throw bad("a collection name is letters, digits and _ (not starting with a digit, at most 200 characters), got \(name.debugDescription)")
        }
        collection = name
        verifyCertificate = true
        consistency = .bounded
        m = 16
        efConstruction = 200
        timeoutSeconds = 60
        for item in url.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "token": token = value.isEmpty ? nil : value
            case "db":
                guard Self.isCollectionName(value) else { throw bad("db must be letters, digits and _, got \(value.debugDescription)") }
                database = value
            case "consistency":
                guard let level = Consistency(rawValue: value.lowercased()) else {
                    throw bad("unknown consistency \(value.debugDescription) (strong, bounded, eventually)")
                }
                consistency = level
            case "m":
                guard let n = Int(value), (2...2048).contains(n) else { throw bad("m must be a whole number from 2 to 2048, got \(value.debugDescription)") }
                m = n
            case "ef_construction":
                guard let n = Int(value), (1...1_000_000).contains(n) else { throw bad("ef_construction must be a positive whole number, got \(value.debugDescription)") }
                efConstruction = n
            case "timeout":
                guard let seconds = Double(value), seconds > 0, seconds.isFinite else { throw bad("timeout must be a positive number of seconds, got \(value.debugDescription)") }
                timeoutSeconds = seconds
            case "tls_verify":
                guard value == "true" || value == "false" else { throw bad("tls_verify must be true or false, got \(value.debugDescription)") }
                verifyCertificate = value == "true"
            default:
                throw bad("unknown parameter \(item.name.debugDescription) (token, db, consistency, m, ef_construction, timeout, tls_verify)")
            }
        }
        if token != nil, user != nil { throw bad("give either user:password or token=, not both") }
    }

    /// The URL without password or token, for messages and logs.
    public var redacted: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var text = (tls ? "milvus+tls://" : "milvus://") + (user.map { "\($0)@" } ?? "") + "\(hostPart):\(port)/\(collection)"
        if let database { text += "?db=\(database)" }
        return text
    }

    /// What the server's `authorization` header carries: base64 of `user:password`, or of the token (as pymilvus sends).
    var authorization: String? {
        if let token { return Data(token.utf8).base64EncodedString() }
        if let user { return Data("\(user):\(password ?? "")".utf8).base64EncodedString() }
        return nil
    }

    static func isCollectionName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first, !("0"..."9").contains(first), s.count <= 200 else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
