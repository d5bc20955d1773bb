import Foundation
@testable import GlimpseHub
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny stand-in for the Hugging Face Hub on 127.0.0.1 (raw POSIX sockets, a thread per connection,
/// `Connection: close`). It serves one model repo the way huggingface.co does:
/// - `GET /api/models/{repo}/revision/{rev}` → `{"id", "sha", "siblings": [{"rfilename"}]}`
/// - `HEAD|GET /{repo}/resolve/{rev}/{file}` → Git files: 200 with `ETag: "<git blob id>"`; LFS files: 302 to
///   `http://localhost:{port}/cdn/{sha256}` (another origin, like the CDN) with `X-Linked-Etag: "<sha256>"` and
///   `X-Linked-Size`; both with `X-Repo-Commit`
/// - `HEAD|GET /cdn/{sha256}` → the LFS content, with `Range: bytes=N-` answered by 206 + `Content-Range`
/// plus knobs to misbehave: drop the connection mid-file, send corrupt bytes, demand a token, hide the repo.
final class HubTestServer: @unchecked Sendable {
    struct Request: Sendable { let method: String; let path: String; let headers: [String: String] }
    struct File { let name: String; let data: Data; let lfs: Bool }

    let repo: String
    let commit: String
    let files: [File]
    private let sha256s: [String: String]
    private(set) var port: UInt16 = 0
    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)")! }
    /// LFS files redirect here: the same server under another host name, so a different origin (as the Hub's CDN is).
    var cdnEndpoint: String { "http://localhost:\(port)" }

    private let lock = NSLock()
    private var listenFD: Int32 = -1
    private var _requests: [Request] = []
    private var _dropAfter: Int?
    private var _corrupt = false
    private var _token: String?
    private var _repoStatus: (Int, String)?
    private var _ignoreRange = false
    private var _stallAfter: Int?
    private var _pace: Double = 0

    /// The first body GET of an LFS file sends this many bytes, then closes the socket (a dropped connection).
    var dropAfterBytes: Int? { get { locked { _dropAfter } } set { locked { _dropAfter = newValue } } }
    /// LFS bodies are sent with their first byte flipped.
    var corruptLFS: Bool { get { locked { _corrupt } } set { locked { _corrupt = newValue } } }
    /// When set, every request without `Authorization: Bearer <token>` gets 401 (as a private repo does).
    var requiredToken: String? { get { locked { _token } } set { locked { _token = newValue } } }
    /// When set, every repo request gets this status and `X-Error-Code` (e.g. (404, "RepoNotFound")).
    var repoError: (Int, String)? { get { locked { _repoStatus } } set { locked { _repoStatus = newValue } } }
    /// The CDN answers Range requests with a full 200 (as some proxies do).
    var ignoreRange: Bool { get { locked { _ignoreRange } } set { locked { _ignoreRange = newValue } } }
    /// The first body GET of an LFS file sends this many bytes, then goes silent for 3 s (a stalled connection).
    var stallAfterBytes: Int? { get { locked { _stallAfter } } set { locked { _stallAfter = newValue } } }
    /// Seconds to wait between 64 KiB pieces of an LFS body (a slow but steady link).
    var pace: Double { get { locked { _pace } } set { locked { _pace = newValue } } }
    var requests: [Request] { locked { _requests } }

    init(repo: String = "test-org/tiny-clip", files: [File]) throws {
        self.repo = repo
        self.files = files
        sha256s = Dictionary(files.filter(\.lfs).map { ($0.name, HubDigest.sha256($0.data)) }) { a, _ in a }
        commit = HubDigest.gitBlobID(Data(repo.utf8) + Data(files.map(\.name).joined().utf8))
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listenFD, $0, len) == 0 && listen(listenFD, 64) == 0 && getsockname(listenFD, $0, &len) == 0
            }
        }
        guard ok else { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: addr.sin_port)
        let fd = listenFD
        Thread { [weak self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { if errno == EINTR { continue } else { return } }
                guard let self else { close(client); return }
                Thread { self.serve(client) }.start()
            }
        }.start()
    }

    deinit { stop() }

    /// Closes the listening socket: later connections are refused.
    func stop() {
        let fd = locked { () -> Int32 in let fd = listenFD; listenFD = -1; return fd }
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }
    }

    func file(_ name: String) -> File? { files.first { $0.name == name } }
    static func sha256(_ data: Data) -> String { HubDigest.sha256(data) }

    private func locked<T>(_ body: () -> T) -> T { lock.lock(); defer { lock.unlock() }; return body() }

    // MARK: - HTTP

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var raw = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !raw.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return }
            raw += chunk[0 ..< n]
        }
        let lines = String(decoding: raw, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ").map(String.init)
        guard parts.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() where line.contains(":") {
            let i = line.firstIndex(of: ":")!
            headers[line[..<i].lowercased()] = line[line.index(after: i)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(method: parts[0], path: parts[1], headers: headers)
        locked { _requests.append(request) }
        respond(to: request, fd: fd)
    }

    private func respond(to request: Request, fd: Int32) {
        let head = request.method == "HEAD"
        let path = request.path.removingPercentEncoding ?? request.path
        let commitHeader = ["X-Repo-Commit": commit]
        if let token = requiredToken, request.headers["authorization"] != "Bearer \(token)", !path.hasPrefix("/cdn/") {
            return send(fd, 401, ["X-Error-Message": "Invalid username or password."], Data("Unauthorized".utf8), head: head)
        }
        if path.hasPrefix("/api/models/\(repo)/revision/") || path.hasPrefix("/\(repo)/resolve/") {
            if let (status, code) = repoError {
                return send(fd, status, ["X-Error-Code": code], Data("{\"error\":\"\(code)\"}".utf8), head: head)
            }
        }
        let apiPrefix = "/api/models/\(repo)/revision/"
        if path.hasPrefix(apiPrefix) {
            let revision = String(path.dropFirst(apiPrefix.count))
            guard revision == "main" || revision == commit else {
                return send(fd, 404, ["X-Error-Code": "RevisionNotFound"], Data(), head: head)
            }
            let siblings = files.map { ["rfilename": $0.name] }
            let json = try! JSONSerialization.data(withJSONObject: ["id": repo, "sha": commit, "siblings": siblings], options: [.sortedKeys])
            return send(fd, 200, ["Content-Type": "application/json"], json, head: head)
        }
        let resolvePrefix = "/\(repo)/resolve/"
        if path.hasPrefix(resolvePrefix) {
            let rest = path.dropFirst(resolvePrefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return send(fd, 404, [:], Data(), head: head) }
            let revision = String(rest[..<slash]), name = String(rest[rest.index(after: slash)...])
            guard revision == "main" || revision == commit else {
                return send(fd, 404, ["X-Error-Code": "RevisionNotFound"], Data(), head: head)
            }
            guard let file = file(name) else {
                return send(fd, 404, commitHeader.merging(["X-Error-Code": "EntryNotFound"]) { $1 }, Data(), head: head)
            }
            if file.lfs {
                let sha = sha256s[file.name]!
                return send(fd, 302, commitHeader.merging([
                    "Location": "\(cdnEndpoint)/cdn/\(sha)?signature=abc", "X-Linked-Etag": "\"\(sha)\"", "X-Linked-Size": "\(file.data.count)",
                    "ETag": "\"\(HubDigest.gitBlobID(Data("version https://git-lfs.github.com/spec/v1\n".utf8)))\"",
                ]) { $1 }, Data("Found. Redirecting to /cdn/\(sha)".utf8), head: head)
            }
            return sendBody(fd, file.data, commitHeader.merging(["ETag": "\"\(HubDigest.gitBlobID(file.data))\""]) { $1 }, request, head: head, lfs: false)
        }
        if path.hasPrefix("/cdn/") {
            let sha = String(path.dropFirst(5).prefix { $0 != "?" })
            guard let file = files.first(where: { $0.lfs && sha256s[$0.name] == sha }) else { return send(fd, 404, [:], Data(), head: head) }
            return sendBody(fd, file.data, ["ETag": "\"\(sha)\""], request, head: head, lfs: true)
        }
        send(fd, 404, [:], Data("Not Found".utf8), head: head)
    }

    private func sendBody(_ fd: Int32, _ data: Data, _ headers: [String: String], _ request: Request, head: Bool, lfs: Bool) {
        var body = data
        var headers = headers.merging(["Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"]) { $1 }
        var status = 200
        if let range = request.headers["range"], range.hasPrefix("bytes="), !ignoreRange {
            let bounds = range.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            let start = bounds.first.flatMap { $0 } ?? 0
            let end = min((bounds.count > 1 ? bounds[1] : nil) ?? data.count - 1, data.count - 1)
            guard start < data.count, start <= end else {
                return send(fd, 416, ["Content-Range": "bytes */\(data.count)"], Data(), head: head)
            }
            body = data.subdata(in: start ..< end + 1)
            headers["Content-Range"] = "bytes \(start)-\(end)/\(data.count)"
            status = 206
        }
        if lfs, !head, corruptLFS, !body.isEmpty { body[body.startIndex] ^= 0xFF }
        var cut: Int?, stall: Int?, pace = 0.0
        if lfs, !head {
            (cut, stall, pace) = locked { defer { _dropAfter = nil; _stallAfter = nil }; return (_dropAfter, _stallAfter, _pace) }
        }
        if let stall {
            send(fd, status, headers, body.prefix(stall), head: false, contentLength: body.count)
            return Thread.sleep(forTimeInterval: 3)
        }
        if pace > 0 {
            send(fd, status, headers, Data(), head: false, contentLength: body.count)
            for start in stride(from: 0, to: body.count, by: 65536) {
                Thread.sleep(forTimeInterval: pace)
                send(fd, nil, [:], body.subdata(in: start ..< min(start + 65536, body.count)), head: false)
            }
            return
        }
        send(fd, status, headers, body, head: head, cutAfter: cut)
    }

    /// Sends a response (status nil: body bytes only), announcing `contentLength` (default: the body's size).
    private func send(_ fd: Int32, _ status: Int?, _ headers: [String: String], _ body: Data, head: Bool,
                      cutAfter: Int? = nil, contentLength: Int? = nil)
    {
        let reasons = [200: "OK", 206: "Partial Content", 302: "Found", 401: "Unauthorized", 403: "Forbidden",
                       404: "Not Found", 416: "Range Not Satisfiable", 500: "Internal Server Error"]
        var text = ""
        if let status {
            text = "HTTP/1.1 \(status) \(reasons[status] ?? "Status")\r\n"
            for (k, v) in headers.merging(["Content-Length": "\(contentLength ?? body.count)", "Connection": "close"], uniquingKeysWith: { $1 }) {
                text += "\(k): \(v)\r\n"
            }
            text += "\r\n"
        }
        for part in [Data(text.utf8), head ? Data() : cutAfter.map { body.prefix($0) } ?? body] {
            let done = part.withUnsafeBytes { raw in
                var sent = 0
                while sent < raw.count {
                    let n = socketWrite(fd, raw.baseAddress! + sent, raw.count - sent)
                    if n <= 0 { return false }
                    sent += n
                }
                return true
            }
            if !done { return }
        }
    }
}

/// `send(2)` without SIGPIPE (a client that hung up must not kill the test process).
private func socketWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    return send(fd, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    return send(fd, bytes, count, 0)
    #endif
}
