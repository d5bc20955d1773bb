import AsyncHTTPClient
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import NIOCore

/// `s3://bucket/key` split into its parts.
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    public var key: String

    public init(url: String) throws {
        guard url.lowercased().hasPrefix("s3://") else { throw SourceError.unsupportedURL(url, reason: "not an s3:// URL") }
        let rest = url.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { throw SourceError.unsupportedURL(url, reason: "no bucket") }
        self.bucket = String(bucket)
        key = String(rest.dropFirst(bucket.count + 1))
    }

    public var url: String { "s3://\(bucket)/\(key)" }
}

/// One object of a listing.
public struct S3Object: Sendable, Equatable {
    public var key: String
    public var size: Int64
    /// The ETag, quotes included (changes when the object's content does).
    public var etag: String
    public var lastModified: String
}

/// The S3 API calls Glimpse needs — GetObject and ListObjectsV2 — signed with Signature V4. Works with AWS and with
/// S3-compatible stores at `AWS_ENDPOINT_URL` (path-style addressing there; virtual-hosted on AWS).
public struct S3Client: Sendable {
    public var signer: AWSSignatureV4
    /// Custom endpoint (`AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`), nil for AWS itself.
    public var endpoint: URL?
    /// Keys per listing page (S3's maximum is 1000).
    public var pageSize = 1000

    public init(signer: AWSSignatureV4, endpoint: URL? = nil) {
        self.signer = signer
        self.endpoint = endpoint
    }

    /// A client configured the way the AWS tools are: credentials, `AWS_REGION` / `AWS_DEFAULT_REGION` / the
    /// config file's region (else us-east-1), and the endpoint.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Client {
        let credentials = try AWSCredentials.load(environment: environment)
        let home = environment["HOME"] ?? NSHomeDirectory()
        let config = (try? String(contentsOfFile: environment["AWS_CONFIG_FILE"] ?? home + "/.aws/config", encoding: .utf8))
            .map { INI.section(environment["AWS_PROFILE"] ?? "default", in: $0) } ?? [:]
        let region = [environment["AWS_REGION"], environment["AWS_DEFAULT_REGION"], config["region"]]
            .compactMap { $0 }.first { !$0.isEmpty } ?? "us-east-1"
        var endpoint: URL?
        if let text = [environment["AWS_ENDPOINT_URL_S3"], environment["AWS_ENDPOINT_URL"], config["endpoint_url"]].compactMap({ $0 }).first(where: { !$0.isEmpty }) {
            guard let url = URL(string: text), url.scheme == "http" || url.scheme == "https", url.host != nil else {
                throw SourceError.s3("AWS_ENDPOINT_URL '\(text)' is not an http(s) URL")
            }
            endpoint = url
        }
        return S3Client(signer: AWSSignatureV4(credentials: credentials, region: region), endpoint: endpoint)
    }

    /// Scheme, host (with port) and path of a request for `key` in `bucket`.
    func address(bucket: String, key: String) -> (url: String, host: String, path: String) {
        let encodedKey = AWSSignatureV4.encode(key, keepSlash: true)
        if let endpoint {
            let host = endpoint.host! + (endpoint.port.map { ":\($0)" } ?? "")
            let base = endpoint.path.hasSuffix("/") ? String(endpoint.path.dropLast()) : endpoint.path
            let path = base + "/" + AWSSignatureV4.encode(bucket) + (key.isEmpty ? "" : "/" + encodedKey)
            return ("\(endpoint.scheme!)://\(host)\(path)", host, path)
        }
        // Virtual-hosted style; buckets with dots would not match the certificate, so they go path-style.
        if bucket.contains(".") {
            let host = "s3.\(signer.region).amazonaws.com"
            let path = "/" + bucket + (key.isEmpty ? "" : "/" + encodedKey)
            return ("https://\(host)\(path)", host, path)
        }
        let host = "\(bucket).s3.\(signer.region).amazonaws.com"
        let path = "/" + encodedKey
        return ("https://\(host)\(path)", host, path)
    }

    func request(bucket: String, key: String, query: [(String, String)] = [], extraHeaders: [String: String] = [:]) -> HTTPClientRequest {
        let (url, host, path) = address(bucket: bucket, key: key)
        let queryText = query.map { "\(AWSSignatureV4.encode($0.0))=\(AWSSignatureV4.encode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: url + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = .GET
        let signed = signer.sign(method: "GET", path: path, query: query, headers: ["host": host].merging(extraHeaders) { a, _ in a })
        for (name, value) in extraHeaders { request.headers.add(name: name, value: value) }
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        return request
    }

    /// A signed GetObject, conditional when `validator` holds an ETag.
    public func signedGet(bucket: String, key: String, validator: String? = nil) throws -> HTTPClientRequest {
        var headers: [String: String] = [:]
        if let validator, validator.hasPrefix("etag:") { headers["if-none-match"] = String(validator.dropFirst(5)) }
        return request(bucket: bucket, key: key, extraHeaders: headers)
    }

    /// Every object under `prefix`, following continuation tokens page by page.
    public func list(bucket: String, prefix: String, client: HTTPClient = .shared) async throws -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(pageSize))]
            if let token { query.append(("continuation-token", token)) }
            let response: HTTPClientResponse
            let body: ByteBuffer
            do {
                response = try await client.execute(request(bucket: bucket, key: "", query: query), timeout: .seconds(60))
                body = try await response.body.collect(upTo: 64 * 1024 * 1024)
            } catch {
                throw SourceError.s3("listing s3://\(bucket)/\(prefix): \(error)")
            }
            let data = Data(body.readableBytesView)
            guard response.status.code == 200 else {
                throw SourceError.s3("listing s3://\(bucket)/\(prefix): HTTP \(response.status.code) \(S3XML.errorMessage(data) ?? "")")
            }
            let page = S3XML.parseListing(data)
            objects += page.objects
            token = page.isTruncated ? page.nextToken : nil
            if page.isTruncated && token == nil { throw SourceError.s3("a truncated listing without a continuation token") }
        } while token != nil
        return objects
    }
}

/// The XML of ListObjectsV2 and of S3 errors.
enum S3XML {
    final class Collector: NSObject, XMLParserDelegate {
        var path: [String] = []
        var text = ""
        var objects: [S3Object] = []
        var current: [String: String] = [:]
        var top: [String: String] = [:]

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            path.append(name)
            text = ""
            if name == "Contents" { current = [:] }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "Contents" {
                objects.append(S3Object(key: current["Key"] ?? "", size: Int64(current["Size"] ?? "") ?? 0,
                                        etag: current["ETag"] ?? "", lastModified: current["LastModified"] ?? ""))
            } else if path.count >= 2 && path[path.count - 2] == "Contents" {
                current[name] = text
            } else if path.count == 2 {
                top[name] = text
            }
            path.removeLast()
            text = ""
        }
    }

    static func parseListing(_ data: Data) -> (objects: [S3Object], isTruncated: Bool, nextToken: String?) {
        let collector = Collector()
        let parser = XMLParser(data: data)
        parser.delegate = collector
        parser.parse()
        return (collector.objects, collector.top["IsTruncated"] == "true", collector.top["NextContinuationToken"])
    }

    static func errorMessage(_ data: Data) -> String? {
        let collector = Collector()
        let parser = XMLParser(data: data)
        parser.delegate = collector
        parser.parse()
        guard let code = collector.top["Code"] else { return nil }
        return code + (collector.top["Message"].map { ": " + $0 } ?? "")
    }
}
