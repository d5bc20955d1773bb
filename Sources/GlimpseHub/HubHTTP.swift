import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP exchange as the download code needs it: redirects are never followed automatically (the Hub puts a
/// file's metadata on the 302 itself, and the token must not follow a redirect to a CDN host), and a body can be
/// streamed chunk by chunk to a file instead of being collected in memory.
struct HTTPResponse: Sendable {
    let status: Int
    /// Header names lowercased.
    let headers: [String: String]
    let url: URL
    /// The collected body (empty when it was streamed elsewhere).
    let body: Data

    func header(_ name: String) -> String? { headers[name.lowercased()] }
    var isRedirect: Bool { [301, 302, 303, 307, 308].contains(status) && header("location") != nil }
}

/// What to do with a response body, decided once the status line and headers are in.
enum HTTPBodyDisposition {
    /// Keep the body in memory (API JSON, error pages); bytes past `limit` are dropped.
    case collect(limit: Int)
    /// Hand each chunk to `write` as it arrives; a thrown error cancels the transfer and is rethrown by `send`.
    case stream(write: (Data) throws -> Void)
}

enum HubHTTP {
    /// Performs `request` with redirects off. `decide` sees the response head and picks how the body is handled.
    /// Transport failures (refused, dropped mid-body, timed out) throw the underlying `URLError`.
    static func send(_ request: URLRequest, timeout: TimeInterval,
                     decide: @escaping @Sendable (HTTPURLResponse) -> HTTPBodyDisposition = { _ in .collect(limit: 1 << 24) })
        async throws -> HTTPResponse
    {
        let configuration = URLSessionConfiguration.ephemeral
        // An idle timeout on Linux (reset on every chunk), in whole seconds: corelibs truncates it to Int.
        configuration.timeoutIntervalForRequest = max(1, timeout.rounded(.up))
        configuration.timeoutIntervalForResource = 7 * 24 * 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        let delegate = TransferDelegate(decide: decide)
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let task = session.dataTask(with: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                delegate.start(task: task, continuation: continuation)
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// Session delegate for a single data task. Callbacks for one task arrive serially on the session's delegate queue;
/// the lock only guards the hand-over with `start` and cancellation.
private final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    private let decide: @Sendable (HTTPURLResponse) -> HTTPBodyDisposition
    private let lock = NSLock()
    private var continuation: CheckedContinuation<HTTPResponse, Error>?
    private var response: HTTPURLResponse?
    private var disposition: HTTPBodyDisposition = .collect(limit: 1 << 24)
    private var body = Data()
    private var writeError: Error?

    init(decide: @escaping @Sendable (HTTPURLResponse) -> HTTPBodyDisposition) { self.decide = decide }

    func start(task: URLSessionDataTask, continuation: CheckedContinuation<HTTPResponse, Error>) {
        lock.lock()
        self.continuation = continuation
        lock.unlock()
        if Task.isCancelled { task.cancel() }
        task.resume()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void)
    {
        completionHandler(nil) // the 3xx itself becomes the task's response
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void)
    {
        if let http = response as? HTTPURLResponse {
            self.response = http
            disposition = decide(http)
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard writeError == nil else { return }
        switch disposition {
        case let .collect(limit):
            if body.count < limit { body.append(data.prefix(limit - body.count)) }
        case let .stream(write):
            do { try write(data) } catch {
                writeError = error
                dataTask.cancel()
            }
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let continuation = self.continuation
        self.continuation = nil
        lock.unlock()
        guard let continuation else { return }
        if let writeError { return continuation.resume(throwing: writeError) }
        if let error { return continuation.resume(throwing: error) }
        // A redirect refused in `willPerformHTTPRedirection` may complete without `didReceive response`.
        guard let http = response ?? (task.response as? HTTPURLResponse) else {
            return continuation.resume(throwing: URLError(.badServerResponse))
        }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let key = key as? String, let value = value as? String { headers[key.lowercased()] = value }
        }
        continuation.resume(returning: HTTPResponse(status: http.statusCode, headers: headers,
                                                    url: http.url ?? task.originalRequest?.url ?? URL(fileURLWithPath: "/"), body: body))
    }
}
