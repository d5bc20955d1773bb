import AsyncHTTPClient
import Foundation
import GlimpseImage
import NIOCore
import NIOHTTP1

/// Downloads images from http(s), file and s3 URLs into files, carefully:
/// - one HTTP client for the whole run (keep-alive, at most `connectionsPerHost` connections to one host),
/// - redirects followed by hand (at most `maxRedirects`), each hop's scheme and address checked again,
/// - retries with exponential back-off on 429, 5xx, timeouts and dropped connections, honouring `Retry-After`,
/// - a size limit: a larger `Content-Length` is refused before the body, and the body is counted while streaming,
/// - the content sniffed from its first bytes (an HTML error page named `.jpg` is not an image),
/// - conditional requests (`If-None-Match`, `If-Modified-Since`) when the caller has a validator.
/// Bytes go to `destination.part` and are renamed into place only when complete, so a killed run never leaves a
/// truncated file that looks finished.
public final class ImageFetcher: Sendable {
    public struct Configuration: Sendable {
        public var policy = NetworkPolicy()
        public var maxBytes: Int64 = 50 * 1024 * 1024
        public var connectionsPerHost = 8
        public var maxRedirects = 5
        public var retries = 3
        /// First back-off; doubled on each retry (with jitter).
        public var backoff: Double = 0.5
        /// The longest pause a `Retry-After` may ask for; longer ones fail the row instead of stalling the run.
        public var maxRetryAfter: Double = 60
        public var connectTimeout: Double = 10
        /// Longest wait for the next bytes of a response (a stalled server).
        public var readTimeout: Double = 30
        /// Longest time one attempt may take in all.
        public var requestTimeout: Double = 120
        public var userAgent = "glimpse/1.0 (+https://github.com/glimpse-search/glimpse)"
        public init() {}
    }

    /// What a fetch produced.
    public enum Outcome: Sendable, Equatable {
        /// The bytes are in the destination file.
        case fetched(Fetched)
        /// The server says the copy the validator names is still current (HTTP 304).
        case notModified
    }

    public struct Fetched: Sendable, Equatable {
        public var path: String
        public var size: Int64
        /// `etag:"…"` or `last-modified:…` when the server sent one.
        public var validator: String?
        /// The extension of the sniffed format ("jpg", "png", …).
        public var format: String
    }

    public let configuration: Configuration
    let client: HTTPClient
    public let s3: S3Client?

    public init(configuration: Configuration = Configuration(), s3: S3Client? = nil) {
        self.configuration = configuration
        var http = HTTPClient.Configuration()
        http.redirectConfiguration = .disallow
        http.decompression = .disabled
        http.timeout = .init(connect: .milliseconds(Int64(configuration.connectTimeout * 1000)),
                             read: .milliseconds(Int64(configuration.readTimeout * 1000)))
        http.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: configuration.connectionsPerHost)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
        self.s3 = s3
    }

    /// Closes the connections; call once when done.
    public func shutdown() async { try? await client.shutdown() }

    /// Fetches `url` into `destination`; `validator` (from an earlier fetch) makes the request conditional.
    public func fetch(_ url: String, to destination: String, validator: String? = nil) async throws -> Outcome {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased() else {
            throw SourceError.unsupportedURL(url, reason: "not a URL")
        }
        switch scheme {
        case "http", "https":
            return try await withRetries { try await self.fetchHTTP(parsed, to: destination, validator: validator) }
        case "file":
            return .fetched(try copyFile(parsed.path, to: destination))
        case "s3":
            guard let s3 else { throw SourceError.credentials("s3:// URLs need AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or ~/.aws/credentials)") }
            let object = try S3Location(url: url)
            return try await withRetries {
                let request = try s3.signedGet(bucket: object.bucket, key: object.key, validator: validator)
                return try await self.download(request, url: url, to: destination, checkAddress: false)
            }
        default:
            throw SourceError.unsupportedURL(url, reason: "only http, https, file and s3 URLs are fetched")
        }
    }

    // MARK: Retries

    private func withRetries(_ attempt: () async throws -> Outcome) async throws -> Outcome {
        var pause = configuration.backoff
        var tries = 0
        while true {
            do {
                return try await attempt()
            } catch let error as RetryableFailure {
                tries += 1
                guard tries <= configuration.retries else { throw error.error }
                var wait = pause * Double.random(in: 0.8...1.2)
                if let after = error.retryAfter {
                    guard after <= configuration.maxRetryAfter else {
                        throw SourceError.httpStatus(429, reason: "rate limited (Retry-After \(Int(after)) s is longer than \(Int(configuration.maxRetryAfter)) s)")
                    }
                    wait = max(wait, after)
                }
                try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
                pause *= 2
            }
        }
    }

    /// A transient failure, with the pause the server asked for.
    struct RetryableFailure: Error {
        var error: SourceError
        var retryAfter: Double?
    }

    // MARK: HTTP

    private func fetchHTTP(_ start: URL, to destination: String, validator: String?) async throws -> Outcome {
        var url = start
        var hops = 0
        while true {
            guard let host = url.host, !host.isEmpty else { throw SourceError.unsupportedURL(url.absoluteString, reason: "no host") }
            try configuration.policy.check(host: host)
            var request = HTTPClientRequest(url: url.absoluteString)
            request.method = .GET
            request.headers.add(name: "User-Agent", value: configuration.userAgent)
            request.headers.add(name: "Accept", value: "image/*,*/*;q=0.5")
            if let validator {
                if validator.hasPrefix("etag:") { request.headers.add(name: "If-None-Match", value: String(validator.dropFirst(5))) }
                if validator.hasPrefix("last-modified:") { request.headers.add(name: "If-Modified-Since", value: String(validator.dropFirst(14))) }
            }
            let response: HTTPClientResponse
            do {
                response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.requestTimeout * 1000)))
            } catch {
                throw Self.transportFailure(error, phase: "waiting for the response")
            }
            let code = Int(response.status.code)
            if [301, 302, 303, 307, 308].contains(code) {
                hops += 1
                guard hops <= configuration.maxRedirects else { throw SourceError.tooManyRedirects(configuration.maxRedirects) }
                guard let location = response.headers.first(name: "Location"), let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    throw SourceError.httpStatus(code, reason: "redirect without a Location")
                }
                guard let scheme = next.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
                    throw SourceError.unsupportedURL(next.absoluteString, reason: "a redirect may only lead to http or https")
                }
                url = next
                continue
            }
            return try await receive(response, url: url.absoluteString, to: destination)
        }
    }

    /// Executes an already prepared request (S3) and receives its body.
    func download(_ request: HTTPClientRequest, url: String, to destination: String, checkAddress: Bool) async throws -> Outcome {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.requestTimeout * 1000)))
        } catch {
            throw Self.transportFailure(error, phase: "waiting for the response")
        }
        return try await receive(response, url: url, to: destination)
    }

    private func receive(_ response: HTTPClientResponse, url: String, to destination: String) async throws -> Outcome {
        let code = Int(response.status.code)
        if code == 304 { return .notModified }
        guard (200..<300).contains(code) else {
            let failure = SourceError.httpStatus(code, reason: response.status.reasonPhrase)
            if failure.isTransient { throw RetryableFailure(error: failure, retryAfter: Self.retryAfter(response.headers)) }
            throw failure
        }
        if let declared = response.headers.first(name: "Content-Length").flatMap(Int64.init), declared > configuration.maxBytes {
            throw SourceError.tooLarge(limit: configuration.maxBytes, declared: declared)
        }
        let part = destination + ".part"
        FileManager.default.createFile(atPath: part, contents: nil)
        guard let handle = FileHandle(forWritingAtPath: part) else {
            throw SourceError.network("cannot write \(part)")
        }
        var size: Int64 = 0
        var head: [UInt8] = []
        do {
            defer { try? handle.close() }
            for try await buffer in response.body {
                size += Int64(buffer.readableBytes)
                guard size <= configuration.maxBytes else { throw SourceError.tooLarge(limit: configuration.maxBytes, declared: nil) }
                if head.count < 64 { head += buffer.getBytes(at: buffer.readerIndex, length: min(64 - head.count, buffer.readableBytes)) ?? [] }
                try handle.write(contentsOf: Data(buffer.readableBytesView))
            }
        } catch let error as SourceError {
            try? FileManager.default.removeItem(atPath: part)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: part)
            throw Self.transportFailure(error, phase: "reading the body")
        }
        guard let format = ImageSniffer.fileExtension(head) else {
            try? FileManager.default.removeItem(atPath: part)
            let type = response.headers.first(name: "Content-Type") ?? "no Content-Type"
            throw SourceError.notAnImage(Self.describeContent(head, contentType: type, size: size))
        }
        try? FileManager.default.removeItem(atPath: destination)
        guard rename(part, destination) == 0 else { throw SourceError.network("cannot move \(part) into place") }
        let validator = response.headers.first(name: "ETag").map { "etag:" + $0 }
            ?? response.headers.first(name: "Last-Modified").map { "last-modified:" + $0 }
        return .fetched(Fetched(path: destination, size: size, validator: validator, format: format))
    }

    private func copyFile(_ path: String, to destination: String) throws -> Fetched {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SourceError.network("cannot read \(path)")
        }
        guard Int64(data.count) <= configuration.maxBytes else { throw SourceError.tooLarge(limit: configuration.maxBytes, declared: Int64(data.count)) }
        guard let format = ImageSniffer.fileExtension(Array(data.prefix(64))) else {
            throw SourceError.notAnImage(Self.describeContent(Array(data.prefix(64)), contentType: "a file", size: Int64(data.count)))
        }
        try data.write(to: URL(fileURLWithPath: destination), options: .atomic)
        return Fetched(path: destination, size: Int64(data.count), validator: nil, format: format)
    }

    /// "an HTML page (text/html, 1234 bytes)", "empty (0 bytes)", "application/json, 12 bytes".
    static func describeContent(_ head: [UInt8], contentType: String, size: Int64) -> String {
        if size == 0 { return "empty response (0 bytes)" }
        let text = String(decoding: head, as: UTF8.self).lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("<!doctype html") || text.hasPrefix("<html") || contentType.lowercased().contains("text/html") {
            return "an HTML page (\(contentType), \(size) bytes)"
        }
        return "\(contentType), \(size) bytes, unrecognised content"
    }

    /// Seconds from a `Retry-After` header (delta-seconds or an HTTP date).
    static func retryAfter(_ headers: HTTPHeaders) -> Double? {
        guard let value = headers.first(name: "Retry-After")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
    }

    static func transportFailure(_ error: Error, phase: String) -> Error {
        if let error = error as? SourceError { return error }
        if error is RetryableFailure { return error }
        if let http = error as? HTTPClientError {
            switch http {
            case .readTimeout, .deadlineExceeded, .connectTimeout:
                return RetryableFailure(error: .timedOut(phase), retryAfter: nil)
            case .remoteConnectionClosed:
                return RetryableFailure(error: .network("the server closed the connection \(phase)"), retryAfter: nil)
            default:
                return RetryableFailure(error: .network("\(http) \(phase)"), retryAfter: nil)
            }
        }
        if error is CancellationError { return error }
        return RetryableFailure(error: .network("\(error)"), retryAfter: nil)
    }
}

extension ImageFetcher.RetryableFailure: CustomStringConvertible {
    var description: String { error.description }
}
