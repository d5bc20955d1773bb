import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress of `HubClient.download`, reported at most every 0.1 s while bytes flow and at every phase change.
public struct HubProgress: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case downloading
        /// The file is complete and its SHA-256 / Git blob id is being checked.
        case verifying
        /// The file is in the snapshot (downloaded now, or already cached when `fromCache`).
        case finished
    }

    public let repo: String
    public let file: String
    /// 0-based position of `file` among the `fileCount` files of the download.
    public let fileIndex: Int
    public let fileCount: Int
    public let fileCompleted: Int64
    public let fileTotal: Int64?
    /// Bytes of all files, cached ones included; `total` is nil when the Hub did not give every size.
    public let completed: Int64
    public let total: Int64?
    public let phase: Phase
    public let fromCache: Bool

    public var fractionCompleted: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, Double(completed) / Double(total))
    }
}

/// A repo at one revision, from `GET /api/models/{repo}/revision/{revision}`.
public struct HubRepoInfo: Sendable, Equatable {
    public let id: String
    /// The commit the revision resolved to.
    public let sha: String
    /// Every file of the repo (`siblings[].rfilename`).
    public let files: [String]
}

/// A file's metadata, from `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` (redirect not followed).
public struct HubFileMetadata: Sendable, Equatable {
    public let commit: String
    /// The normalised ETag: the SHA-256 for LFS files (`X-Linked-Etag`), the Git blob id for the others.
    public let etag: String
    public let size: Int64?
    /// Where the content is (the CDN URL an LFS file redirects to, else the resolve URL).
    public let location: URL
}

/// Downloads model repos from the Hugging Face Hub (or a mirror at `$HF_ENDPOINT`) into the standard cache,
/// following the protocol of `huggingface_hub`: file list from the API, metadata from a HEAD on `resolve/`
/// (ETag, size, commit; LFS files answer with a 302 to the CDN), content streamed to `blobs/{etag}.incomplete`,
/// resumed with `Range` after a dropped connection or an interrupted run, checked against the ETag, then renamed
/// into `blobs/{etag}` and linked from `snapshots/{commit}/{file}`.
public struct HubClient: Sendable {
    public let endpoint: URL
    /// Sent as `Authorization: Bearer …` to the endpoint's host (never to a CDN it redirects to).
    public let token: String?
    public let cache: HubCache
    /// `$HF_HUB_OFFLINE`: never touch the network, use the cache only.
    public let offline: Bool
    /// Attempts in a row without receiving a byte before a download gives up.
    public var maxRetries = 5
    /// Seconds before the first retry; doubled after each attempt that received nothing (up to 8×).
    public var retryDelay: Double = 1
    /// Seconds without an answer before a metadata request (API, HEAD) fails (`$HF_HUB_ETAG_TIMEOUT`).
    public var metadataTimeout: Double
    /// Seconds without a byte before a download attempt fails and is resumed (`$HF_HUB_DOWNLOAD_TIMEOUT`).
    public var downloadTimeout: Double
    public var userAgent = "glimpse/0.1; hf_hub/swift"

    /// Any argument left nil comes from `environment`: `$HF_ENDPOINT` (default https://huggingface.co),
    /// `$HF_TOKEN` / `$HUGGING_FACE_HUB_TOKEN` / the `$HF_HOME/token` file, the cache of `HubCache(environment:)`,
    /// and `$HF_HUB_OFFLINE`.
    public init(endpoint: URL? = nil, token: String? = nil, cache: HubCache? = nil, offline: Bool? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment)
    {
        var base = endpoint?.absoluteString ?? HubEnvironment.value("HF_ENDPOINT", environment) ?? HubEnvironment.defaultEndpoint
        while base.hasSuffix("/") { base.removeLast() }
        self.endpoint = URL(string: base) ?? URL(string: HubEnvironment.defaultEndpoint)!
        self.token = HubEnvironment.clean(token) ?? HubEnvironment.token(environment)
        self.cache = cache ?? HubCache(environment: environment)
        self.offline = offline ?? HubEnvironment.isOffline(environment)
        metadataTimeout = HubEnvironment.value("HF_HUB_ETAG_TIMEOUT", environment).flatMap(Double.init) ?? 10
        downloadTimeout = HubEnvironment.value("HF_HUB_DOWNLOAD_TIMEOUT", environment).flatMap(Double.init) ?? 10
    }

    /// A repo id as the Hub accepts it: `NAME` or `ORG/NAME`, made of letters, digits, `-`, `_`, `.`
    /// (no `--` or `..`, not ending in `.git`, at most 96 characters per part).
    public static func isValidRepoID(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        guard (1 ... 2).contains(parts.count), !id.contains("--"), !id.contains(".."), !id.hasSuffix(".git") else { return false }
        return parts.allSatisfy { part in
            guard (1 ... 96).contains(part.count), let first = part.first, let last = part.last,
                  first != "-", first != ".", last != "-", last != "." else { return false }
            return part.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }
        }
    }

    // MARK: - Download

    /// Downloads `files` of `repo` at `revision` (by default the model files Glimpse needs: config.json,
    /// model.safetensors or its index and shards, tokenizer and preprocessor files, those the repo has) and returns
    /// the local snapshot folder. Files already in the cache are not fetched again. When the Hub cannot be reached
    /// (or refuses access, or fails) and the cache holds a complete snapshot of `revision`, that snapshot is returned.
    public func download(repo: String, revision: String = "main", files: [String]? = nil,
                         progress: (@Sendable (HubProgress) -> Void)? = nil) async throws -> String
    {
        guard Self.isValidRepoID(repo) else { throw HubError.invalidRepoID(repo) }
        for file in files ?? [] where !HubEnvironment.isSafeRelativePath(file) {
            throw HubError.fileNotFound(repo: repo, revision: revision, file: file)
        }
        if offline {
            if let folder = cache.snapshotFolder(repo: repo, revision: revision, files: files) { return folder }
            throw HubError.offline(repo: repo)
        }
        do {
            return try await downloadOnline(repo: repo, revision: revision, files: files, progress: progress)
        } catch let error as HubError where error.allowsCacheFallback {
            if let folder = cache.snapshotFolder(repo: repo, revision: revision, files: files) { return folder }
            throw error
        }
    }

    private func downloadOnline(repo: String, revision: String, files: [String]?,
                                progress: (@Sendable (HubProgress) -> Void)?) async throws -> String
    {
        let info = try await repoInfo(repo: repo, revision: revision)
        let commit = info.sha
        var names: [String]
        if let files {
            for file in files where !info.files.contains(file) {
                throw HubError.fileNotFound(repo: repo, revision: revision, file: file)
            }
            var seen = Set<String>()
            names = files.filter { seen.insert($0).inserted }
        } else {
            names = try Self.defaultFiles(in: info.files, repo: repo, revision: revision)
            if names.contains(HubModelFiles.weightsIndex) {
                // The shards are only known from the index: fetch it first.
                let index = cache.pointerPath(repo: repo, commit: commit, file: HubModelFiles.weightsIndex)
                if !HubFileSystem.exists(index) {
                    try await fetch(repo: repo, commit: commit, file: HubModelFiles.weightsIndex, metadata: nil, index: 0, reporter: nil)
                }
                for shard in try HubModelFiles.shardNames(indexAt: index) {
                    guard info.files.contains(shard) else { throw HubError.fileNotFound(repo: repo, revision: revision, file: shard) }
                    names.append(shard)
                }
            }
        }

        // Metadata of every file not yet in the snapshot, so the overall total is known before the first byte.
        var plan: [(file: String, metadata: HubFileMetadata?, size: Int64?)] = []
        for file in names {
            let pointer = cache.pointerPath(repo: repo, commit: commit, file: file)
            if let size = HubFileSystem.fileSize(pointer) {
                plan.append((file, nil, size))
            } else {
                let metadata = try await fileMetadata(repo: repo, revision: commit, file: file)
                plan.append((file, metadata, metadata.size))
            }
        }
        let sizes = plan.map(\.size)
        let total = sizes.contains { $0 == nil } ? nil : sizes.reduce(0) { $0 + $1! }
        let reporter = ProgressReporter(repo: repo, fileCount: plan.count, total: total, callback: progress)
        for (index, item) in plan.enumerated() {
            if item.metadata == nil {
                reporter.finished(index: index, file: item.file, size: item.size ?? 0, fromCache: true)
            } else {
                try await fetch(repo: repo, commit: commit, file: item.file, metadata: item.metadata, index: index, reporter: reporter)
            }
        }
        try cache.writeRef(repo: repo, revision: revision, commit: commit)
        return cache.snapshotPath(repo: repo, commit: commit)
    }

    /// The files fetched when none are named: config, safetensors weights, tokenizer and preprocessor files.
    static func defaultFiles(in repoFiles: [String], repo: String, revision: String) throws -> [String] {
        let available = Set(repoFiles)
        guard available.contains("config.json") else {
            throw HubError.fileNotFound(repo: repo, revision: revision, file: "config.json")
        }
        var names = HubModelFiles.optional.filter(available.contains)
        // sentence-transformers modules: Pooling, Dense, Normalize settings and weights.
        names += repoFiles.filter(HubModelFiles.isModuleFile).filter { name in
            !(name.hasSuffix("/pytorch_model.bin") && available.contains(name.replacingOccurrences(of: "pytorch_model.bin", with: "model.safetensors")))
        }.sorted()
        if available.contains(HubModelFiles.weights) {
            names.insert(HubModelFiles.weights, at: 1)
        } else if available.contains(HubModelFiles.weightsIndex) {
            names.insert(HubModelFiles.weightsIndex, at: 1)
        } else if available.contains(HubModelFiles.pytorchWeights) {
            names.insert(HubModelFiles.pytorchWeights, at: 1)
        } else {
            let others = repoFiles.filter { name in
                !name.contains("/") && [".bin", ".h5", ".msgpack", ".onnx", ".ckpt", ".pt", ".pth", ".safetensors"].contains { name.hasSuffix($0) }
            }
            throw HubError.noSafetensorsWeights(repo: repo, otherWeights: others.sorted())
        }
        return names
    }

    /// Puts `file` of `commit` into the snapshot: links an existing blob, or downloads, verifies and links a new one.
    private func fetch(repo: String, commit: String, file: String, metadata known: HubFileMetadata?,
                       index: Int, reporter: ProgressReporter?) async throws
    {
        let metadata: HubFileMetadata
        if let known { metadata = known } else { metadata = try await fileMetadata(repo: repo, revision: commit, file: file) }
        let blob = cache.blobPath(repo: repo, etag: metadata.etag)
        if !HubFileSystem.exists(blob) {
            try await HubFileSystem.withLock(cache.lockPath(repo: repo, etag: metadata.etag)) {
                guard !HubFileSystem.exists(blob) else { return } // another process finished it meanwhile
                try await downloadBlob(repo: repo, commit: commit, file: file, metadata: metadata, to: blob, index: index, reporter: reporter)
            }
        }
        try cache.link(repo: repo, commit: commit, file: file, etag: metadata.etag)
        reporter?.finished(index: index, file: file, size: metadata.size ?? HubFileSystem.fileSize(blob) ?? 0, fromCache: false)
    }

    private func downloadBlob(repo: String, commit: String, file: String, metadata: HubFileMetadata, to blob: String,
                              index: Int, reporter: ProgressReporter?) async throws
    {
        try HubFileSystem.createDirectory((blob as NSString).deletingLastPathComponent)
        let incomplete = blob + ".incomplete"
        let etag = metadata.etag
        let isSHA256 = etag.count == 64 && etag.allSatisfy(\.isHexDigit)
        let isGitBlob = etag.count == 40 && etag.allSatisfy(\.isHexDigit)
        let existing = HubFileSystem.fileSize(incomplete) ?? 0
        if isSHA256, existing > 0, existing <= metadata.size ?? .max {
            reporter?.update(index: index, file: file, fileCompleted: 0, fileTotal: existing, phase: .verifying, force: true)
        }
        // LFS content is hashed as it arrives (and a resumed prefix once, up front), so no second pass is needed.
        let writer = try BlobWriter(path: incomplete, hashing: isSHA256, expectedSize: metadata.size) { size in
            reporter?.update(index: index, file: file, fileCompleted: size, fileTotal: metadata.size, phase: .downloading)
        }
        defer { writer.close() }
        reporter?.update(index: index, file: file, fileCompleted: writer.size, fileTotal: metadata.size, phase: .downloading, force: true)

        let url = resolveURL(repo: repo, revision: commit, file: file)
        var failures = 0, attempts = 0
        transferLoop: while true {
            if let size = metadata.size, writer.size == size { break }
            attempts += 1
            writer.startAttempt()
            let reason: String
            do {
                let outcome = try await transfer(from: url, into: writer, repo: repo, commit: commit, file: file, expectedSize: metadata.size)
                if outcome == .complete {
                    // Without a size from the Hub, the end of the body is the end of the file.
                    guard let size = metadata.size, writer.size != size else { break transferLoop }
                    if writer.size > size {
                        let actual = writer.size
                        writer.close()
                        unlink(incomplete)
                        throw HubError.sizeMismatch(file: file, expected: size, actual: actual)
                    }
                    reason = "the connection closed after \(writer.size) of \(size) bytes"
                } else {
                    reason = "the server did not resume at the right byte"
                }
            } catch let error as URLError {
                if error.code == .cancelled { throw CancellationError() }
                reason = Self.describe(error)
            } catch let error as RetryableStatus {
                reason = "HTTP \(error.status)"
            }
            // Retry; only attempts in a row that bring nothing count towards giving up.
            failures = writer.receivedThisAttempt > 0 ? 0 : failures + 1
            if failures > maxRetries { throw HubError.transferFailed(file: file, attempts: attempts, reason: reason) }
            try await Task.sleep(nanoseconds: UInt64(retryDelay * Double(1 << min(failures, 3)) * 1e9))
        }

        reporter?.update(index: index, file: file, fileCompleted: writer.size, fileTotal: metadata.size, phase: .verifying, force: true)
        let digest = writer.finishDigest()
        writer.close()
        if isSHA256 || isGitBlob {
            let actual: String
            if let digest { actual = digest } else {
                do { actual = try HubDigest.hashFile(at: incomplete, gitBlob: isGitBlob) } catch {
                    throw HubError.fileSystem(path: incomplete, reason: "cannot read the download back (\(error.localizedDescription))")
                }
            }
            if actual != etag.lowercased() {
                unlink(incomplete)
                throw HubError.checksumMismatch(file: file, expected: etag, actual: actual)
            }
        }
        guard rename(incomplete, blob) == 0 else { throw HubFileSystem.posixError(blob) }
    }

    private enum TransferOutcome { case complete, restart }
    private struct RetryableStatus: Error { let status: Int }
    private struct RangeMismatch: Error {}

    /// One GET of the file (following the Hub's redirects by hand), appending to `writer` from its current size.
    private func transfer(from start: URL, into writer: BlobWriter, repo: String, commit: String, file: String, expectedSize: Int64?) async throws -> TransferOutcome {
        var url = start
        for _ in 0 ..< 6 {
            let offset = writer.size
            var request = makeRequest(url, method: "GET")
            if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
            let response: HTTPResponse
            do {
                response = try await HubHTTP.send(request, timeout: downloadTimeout) { head in
                    switch head.statusCode {
                    case 200:
                        // A full answer to a Range request (a proxy that ignores Range): start the file over.
                        if offset > 0, let error = writer.truncateRecordingError() { return .stream { _ in throw error } }
                        return .stream(write: writer.append)
                    case 206 where Self.contentRangeStart(head) == offset:
                        return .stream(write: writer.append)
                    case 206:
                        return .stream { _ in throw RangeMismatch() } // stop at the first chunk instead of reading it all
                    default:
                        return .collect(limit: 1 << 16)
                    }
                }
            } catch is RangeMismatch {
                try writer.truncate()
                return .restart
            }
            switch response.status {
            case 200:
                return .complete
            case 206:
                if Self.contentRangeStart(response) == offset { return .complete }
                try writer.truncate()
                return .restart
            case 416:
                if let expectedSize, writer.size == expectedSize { return .complete }
                try writer.truncate()
                return .restart
            case 300 ..< 400:
                guard let location = response.header("location"), let next = URL(string: location, relativeTo: url)?.absoluteURL else {
                    throw HubError.badResponse(url: url.absoluteString, reason: "HTTP \(response.status) without a Location header")
                }
                url = next
            case 408, 429, 500...:
                throw RetryableStatus(status: response.status)
            default:
                throw Self.error(for: response, repo: repo, revision: commit, file: file, tokenSent: request.value(forHTTPHeaderField: "Authorization") != nil)
            }
        }
        throw HubError.badResponse(url: start.absoluteString, reason: "too many redirects")
    }

    // MARK: - Metadata

    /// `GET {endpoint}/api/models/{repo}/revision/{revision}`: the commit and the file list.
    public func repoInfo(repo: String, revision: String = "main") async throws -> HubRepoInfo {
        guard Self.isValidRepoID(repo) else { throw HubError.invalidRepoID(repo) }
        let url = URL(string: endpoint.absoluteString + "/api/models/\(repo)/revision/\(Self.quote(revision, keepSlash: false))")!
        let request = makeRequest(url, method: "GET")
        let response = try await metadataCall(request, repo: repo)
        guard (200 ..< 300).contains(response.status) else {
            throw Self.error(for: response, repo: repo, revision: revision, file: nil, tokenSent: token != nil)
        }
        guard let json = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
              let sha = json["sha"] as? String, HubEnvironment.isCommitHash(sha)
        else { throw HubError.badResponse(url: url.absoluteString, reason: "no commit \"sha\" in the answer") }
        let siblings = (json["siblings"] as? [[String: Any]] ?? []).compactMap { $0["rfilename"] as? String }
        return HubRepoInfo(id: json["id"] as? String ?? repo, sha: sha, files: siblings.filter(HubEnvironment.isSafeRelativePath))
    }

    /// `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` with `Accept-Encoding: identity`. Redirects within the
    /// endpoint's host are followed (renamed repos) unless they carry the file's metadata (`X-Linked-Etag`, an LFS
    /// file); a redirect to another host (the CDN) is never followed: the metadata is on the 302 itself.
    public func fileMetadata(repo: String, revision: String = "main", file: String) async throws -> HubFileMetadata {
        var url = resolveURL(repo: repo, revision: revision, file: file)
        for _ in 0 ..< 6 {
            let request = makeRequest(url, method: "HEAD")
            let response = try await metadataCall(request, repo: repo)
            var location = url
            if response.isRedirect {
                guard let target = URL(string: response.header("location")!, relativeTo: url)?.absoluteURL else {
                    throw HubError.badResponse(url: url.absoluteString, reason: "unreadable Location header")
                }
                if response.header("x-linked-etag") == nil, Self.sameOrigin(url, target) {
                    url = target
                    continue
                }
                location = target
            } else if response.status >= 400 {
                throw Self.error(for: response, repo: repo, revision: revision, file: file, tokenSent: request.value(forHTTPHeaderField: "Authorization") != nil)
            }
            guard let commit = response.header("x-repo-commit"), !commit.isEmpty else {
                throw HubError.badResponse(url: url.absoluteString, reason: "no X-Repo-Commit header, so this is not a Hugging Face Hub")
            }
            guard let etag = Self.normalizeETag(response.header("x-linked-etag") ?? response.header("etag")) else {
                throw HubError.badResponse(url: url.absoluteString, reason: "no ETag header for \(file)")
            }
            guard !etag.contains("/"), HubEnvironment.isSafeRelativePath(etag) else {
                throw HubError.badResponse(url: url.absoluteString, reason: "ETag \"\(etag)\" cannot name a cache file")
            }
            let size = response.header("x-linked-size").flatMap { Int64($0) }
                ?? (response.isRedirect ? nil : response.header("content-length").flatMap { Int64($0) })
            return HubFileMetadata(commit: commit, etag: etag, size: size, location: location)
        }
        throw HubError.badResponse(url: url.absoluteString, reason: "too many redirects")
    }

    /// A metadata request; a transport failure means the Hub is unreachable.
    private func metadataCall(_ request: URLRequest, repo: String) async throws -> HTTPResponse {
        do {
            return try await HubHTTP.send(request, timeout: metadataTimeout)
        } catch let error as URLError {
            if error.code == .cancelled { throw CancellationError() }
            throw HubError.hubUnreachable(endpoint: endpoint.absoluteString, repo: repo, reason: Self.describe(error))
        }
    }

    // MARK: - Helpers

    func resolveURL(repo: String, revision: String, file: String) -> URL {
        URL(string: endpoint.absoluteString + "/\(repo)/resolve/\(Self.quote(revision, keepSlash: false))/\(Self.quote(file, keepSlash: true))")!
    }

    private func makeRequest(_ url: URL, method: String) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding") // real sizes, byte-exact ranges
        request.setValue(userAgent, forHTTPHeaderField: "User-Agent")
        if let token, Self.sameOrigin(url, endpoint) {
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        return request
    }

    static func sameOrigin(_ a: URL, _ b: URL) -> Bool {
        func origin(_ url: URL) -> (String, String, Int) {
            let scheme = url.scheme?.lowercased() ?? ""
            return (scheme, url.host?.lowercased() ?? "", url.port ?? (scheme == "https" ? 443 : scheme == "http" ? 80 : 0))
        }
        return origin(a) == origin(b)
    }

    /// Percent-encodes like Python's `urllib.parse.quote` (letters, digits and `_.-~` kept; `/` kept if asked).
    static func quote(_ text: String, keepSlash: Bool) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~")
        if keepSlash { allowed.insert("/") }
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// `W/"abc"` or `"abc"` → `abc`.
    static func normalizeETag(_ etag: String?) -> String? {
        guard var etag = etag?.trimmingCharacters(in: .whitespaces) else { return nil }
        if etag.hasPrefix("W/") { etag.removeFirst(2) }
        etag = etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return etag.isEmpty ? nil : etag
    }

    static func contentRangeStart(_ response: HTTPURLResponse) -> Int64? {
        let value = response.allHeaderFields.first { ($0.key as? String)?.lowercased() == "content-range" }?.value as? String
        return contentRangeStart(value)
    }

    static func contentRangeStart(_ response: HTTPResponse) -> Int64? { contentRangeStart(response.header("content-range")) }

    /// `bytes 100-199/200` → 100.
    static func contentRangeStart(_ value: String?) -> Int64? {
        guard let value, value.hasPrefix("bytes ") else { return nil }
        return Int64(value.dropFirst(6).prefix { $0 != "-" })
    }

    static func describe(_ error: URLError) -> String {
        if let text = (error as NSError).userInfo[NSLocalizedDescriptionKey] as? String, !text.isEmpty { return text }
        switch error.code {
        case .cannotConnectToHost: return "connection refused"
        case .cannotFindHost, .dnsLookupFailed: return "host not found"
        case .timedOut: return "timed out"
        case .notConnectedToInternet: return "not connected to the internet"
        case .networkConnectionLost: return "connection lost"
        default: return "network error \(error.code.rawValue)"
        }
    }

    /// The `HubError` for an error status, refined by the Hub's `X-Error-Code` header as `huggingface_hub` does.
    static func error(for response: HTTPResponse, repo: String, revision: String, file: String?, tokenSent: Bool) -> HubError {
        let code = response.header("x-error-code")
        let message = response.header("x-error-message") ?? Self.bodyMessage(response.body)
        switch (response.status, code) {
        case (_, "GatedRepo"): return .gatedRepo(repo: repo, tokenSent: tokenSent)
        case (_, "RevisionNotFound"): return .revisionNotFound(repo: repo, revision: revision)
        case (_, "EntryNotFound"): return .fileNotFound(repo: repo, revision: revision, file: file ?? "?")
        case (401, _), (403, _): return .authenticationRequired(repo: repo, status: response.status, tokenSent: tokenSent)
        case (404, _): return file == nil || code == "RepoNotFound" ? .repoNotFound(repo: repo) : .fileNotFound(repo: repo, revision: revision, file: file!)
        default: return .httpError(url: response.url.absoluteString, status: response.status, message: message)
        }
    }

    private static func bodyMessage(_ body: Data) -> String? {
        if let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any], let error = json["error"] as? String { return error }
        let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty || text.hasPrefix("<") ? nil : text
    }
}

/// Appends a download to its `.incomplete` file. Used from one task and its session's serial delegate queue in
/// turn (a transfer's callbacks all happen before `HubHTTP.send` returns).
private final class BlobWriter: @unchecked Sendable {
    private var handle: FileHandle?
    private let path: String
    private let onSize: (Int64) -> Void
    private(set) var size: Int64
    private(set) var receivedThisAttempt: Int64 = 0

    /// A SHA-256 of every byte from 0 to `size` (nil when not hashing).
    private var digest: SHA256Digest?
    /// Time spent in `append` and between calls over the current window, to notice when hashing falls behind.
    private var busy: UInt64 = 0, idle: UInt64 = 0, windowBytes = 0, lastReturn: UInt64 = 0

    /// Opens (or creates) `path` for appending. An existing file longer than `expectedSize` is emptied; with
    /// `hashing`, an existing prefix is hashed so the digest covers the whole file.
    init(path: String, hashing: Bool, expectedSize: Int64?, onSize: @escaping (Int64) -> Void) throws {
        self.path = path
        self.onSize = onSize
        if !FileManager.default.fileExists(atPath: path), !FileManager.default.createFile(atPath: path, contents: nil) {
            throw HubFileSystem.posixError(path)
        }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw HubFileSystem.posixError(path) }
        self.handle = handle
        do { size = Int64(try handle.seekToEnd()) } catch {
            throw HubError.fileSystem(path: path, reason: error.localizedDescription)
        }
        if let expectedSize, size > expectedSize { try truncate() }
        if hashing {
            var digest = SHA256Digest()
            if size > 0 {
                guard let reader = FileHandle(forReadingAtPath: path) else { throw HubFileSystem.posixError(path) }
                defer { try? reader.close() }
                var left = size
                while left > 0 {
                    let chunk = (try? reader.read(upToCount: Int(min(left, 1 << 20)))) ?? Data()
                    if chunk.isEmpty { throw HubError.fileSystem(path: path, reason: "cannot read the partial download") }
                    digest.update(chunk)
                    left -= Int64(chunk.count)
                }
            }
            self.digest = digest
        }
    }

    /// The hex SHA-256 of the file, when it was hashed while written.
    func finishDigest() -> String? {
        guard var digest else { return nil }
        self.digest = nil
        return HubDigest.hex(digest.finalize())
    }

    func startAttempt() {
        receivedThisAttempt = 0
        lastReturn = 0
    }

    func append(_ data: Data) throws {
        guard let handle else { throw HubError.fileSystem(path: path, reason: "closed") }
        let start = DispatchTime.now().uptimeNanoseconds
        do { try handle.write(contentsOf: data) } catch {
            throw HubError.fileSystem(path: path, reason: "cannot write the download (\(error.localizedDescription))")
        }
        if digest != nil {
            digest!.update(data)
            // URLSession on Linux queues every chunk for the delegate without backpressure, so a network faster than
            // SHA-256 (~100–250 MB/s) would pile chunks up in memory. When this callback has been busy almost all of
            // the last 32 MB, stop hashing here and verify by reading the file back once it is complete.
            let end = DispatchTime.now().uptimeNanoseconds
            if lastReturn > 0 { idle += start > lastReturn ? start - lastReturn : 0 }
            busy += end - start
            lastReturn = end
            windowBytes += data.count
            if windowBytes >= 32 << 20 {
                if idle * 10 < busy { digest = nil }
                busy = 0; idle = 0; windowBytes = 0
            }
        }
        size += Int64(data.count)
        receivedThisAttempt += Int64(data.count)
        onSize(size)
    }

    func truncate() throws {
        guard let handle else { return }
        do { try handle.truncate(atOffset: 0) } catch {
            throw HubError.fileSystem(path: path, reason: "cannot truncate (\(error.localizedDescription))")
        }
        size = 0
        if digest != nil { digest = SHA256Digest() }
        onSize(0)
    }

    func truncateRecordingError() -> Error? {
        do { try truncate(); return nil } catch { return error }
    }

    func close() {
        try? handle?.close()
        handle = nil
    }
}

/// Turns byte counts into `HubProgress` values, throttled to one every 0.1 s except at phase changes.
private final class ProgressReporter: @unchecked Sendable {
    private let repo: String
    private let fileCount: Int
    private let total: Int64?
    private let callback: (@Sendable (HubProgress) -> Void)?
    private let lock = NSLock()
    private var finishedBytes: Int64 = 0
    private var lastReport: UInt64 = 0

    init(repo: String, fileCount: Int, total: Int64?, callback: (@Sendable (HubProgress) -> Void)?) {
        self.repo = repo
        self.fileCount = fileCount
        self.total = total
        self.callback = callback
    }

    func update(index: Int, file: String, fileCompleted: Int64, fileTotal: Int64?, phase: HubProgress.Phase, force: Bool = false) {
        guard let callback else { return }
        lock.lock()
        let now = DispatchTime.now().uptimeNanoseconds
        let due = force || now - lastReport >= 100_000_000 || fileCompleted == fileTotal
        if due { lastReport = now }
        let completed = finishedBytes + fileCompleted
        lock.unlock()
        guard due else { return }
        callback(HubProgress(repo: repo, file: file, fileIndex: index, fileCount: fileCount, fileCompleted: fileCompleted,
                             fileTotal: fileTotal, completed: completed, total: total, phase: phase, fromCache: false))
    }

    func finished(index: Int, file: String, size: Int64, fromCache: Bool) {
        lock.lock()
        finishedBytes += size
        let completed = finishedBytes
        lock.unlock()
        callback?(HubProgress(repo: repo, file: file, fileIndex: index, fileCount: fileCount, fileCompleted: size,
                              fileTotal: size, completed: completed, total: total, phase: .finished, fromCache: fromCache))
    }
}
