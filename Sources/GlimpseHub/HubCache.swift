import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Hugging Face Hub cache, laid out exactly as `huggingface_hub` lays it out, so models fetched by Python
/// (transformers, `huggingface-cli download`) are reused and ours are usable from Python:
///
///     {root}/models--{org}--{name}/
///         blobs/{etag}                         file contents, named by the normalised ETag
///         blobs/{etag}.incomplete              a download in progress (resumed with a Range request)
///         snapshots/{commit}/{filename}        relative symlink → ../../blobs/{etag}
///         refs/{revision}                      the commit hash a branch or tag pointed to
///     {root}/.locks/models--{org}--{name}/{etag}.lock
///
/// `root` is `$HF_HUB_CACHE`, else `$HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, where `$HF_HOME` defaults to
/// `$XDG_CACHE_HOME/huggingface` and `$XDG_CACHE_HOME` to `~/.cache` (the same rules as `huggingface_hub`).
public struct HubCache: Sendable, Equatable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    /// The cache that `environment` selects (see the type's documentation).
    public init(environment: [String: String]) {
        if let hub = HubEnvironment.value("HF_HUB_CACHE", environment) ?? HubEnvironment.value("HUGGINGFACE_HUB_CACHE", environment) {
            root = HubEnvironment.expand(hub, environment)
        } else {
            root = (HubEnvironment.hfHome(environment) as NSString).appendingPathComponent("hub")
        }
    }

    /// The cache the process environment selects.
    public static var `default`: HubCache { HubCache(environment: ProcessInfo.processInfo.environment) }

    /// `models--{org}--{name}`, the folder name of a model repo.
    public static func folderName(repo: String) -> String {
        (["models"] + repo.split(separator: "/").map(String.init)).joined(separator: "--")
    }

    public func repoFolder(repo: String) -> String {
        (root as NSString).appendingPathComponent(Self.folderName(repo: repo))
    }

    /// The commit a revision names in the cache: itself for a 40-hex commit hash, else the content of `refs/{revision}`.
    public func commitHash(repo: String, revision: String) -> String? {
        if HubEnvironment.isCommitHash(revision) { return revision }
        let ref = (repoFolder(repo: repo) as NSString).appendingPathComponent("refs/\(revision)")
        guard let text = try? String(contentsOfFile: ref, encoding: .utf8) else { return nil }
        let commit = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return commit.isEmpty ? nil : commit
    }

    /// The snapshot folder of `revision` if it is in the cache and holds `files` (every one of them, following
    /// the symlinks to their blobs); with `files` nil, a complete CLIP model (`HubModelFiles.missing(in:)`).
    public func snapshotFolder(repo: String, revision: String = "main", files: [String]? = nil) -> String? {
        guard let commit = commitHash(repo: repo, revision: revision) else { return nil }
        let folder = snapshotPath(repo: repo, commit: commit)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else { return nil }
        if let files {
            return files.allSatisfy { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent($0)) } ? folder : nil
        }
        return HubModelFiles.missing(in: folder).isEmpty ? folder : nil
    }

    // MARK: - Paths and writes used by the downloader

    func snapshotPath(repo: String, commit: String) -> String {
        (repoFolder(repo: repo) as NSString).appendingPathComponent("snapshots/\(commit)")
    }

    func pointerPath(repo: String, commit: String, file: String) -> String {
        (snapshotPath(repo: repo, commit: commit) as NSString).appendingPathComponent(file)
    }

    func blobPath(repo: String, etag: String) -> String {
        (repoFolder(repo: repo) as NSString).appendingPathComponent("blobs/\(etag)")
    }

    func lockPath(repo: String, etag: String) -> String {
        (root as NSString).appendingPathComponent(".locks/\(Self.folderName(repo: repo))/\(etag).lock")
    }

    /// Writes `refs/{revision}` atomically (temporary file + rename) unless it already holds `commit`.
    func writeRef(repo: String, revision: String, commit: String) throws {
        guard revision != commit else { return }
        let ref = (repoFolder(repo: repo) as NSString).appendingPathComponent("refs/\(revision)")
        if (try? String(contentsOfFile: ref, encoding: .utf8)) == commit { return }
        try HubFileSystem.createDirectory((ref as NSString).deletingLastPathComponent)
        let temporary = ref + ".\(UInt32.random(in: 0 ... .max)).tmp"
        do {
            try Data(commit.utf8).write(to: URL(fileURLWithPath: temporary))
            guard rename(temporary, ref) == 0 else { throw HubFileSystem.posixError(temporary) }
        } catch {
            unlink(temporary)
            throw HubError.fileSystem(path: ref, reason: "\(error)")
        }
    }

    /// Points `snapshots/{commit}/{file}` at `blobs/{etag}` with a relative symlink (replacing whatever was there).
    func link(repo: String, commit: String, file: String, etag: String) throws {
        let pointer = pointerPath(repo: repo, commit: commit, file: file)
        let pointerFolder = (pointer as NSString).deletingLastPathComponent
        try HubFileSystem.createDirectory(pointerFolder)
        // snapshots/{commit}/a/b/file → ../../../../blobs/{etag}: one ".." per folder below the repo folder.
        let depth = 2 + file.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth) + "blobs/\(etag)"
        unlink(pointer)
        if symlink(target, pointer) != 0 {
            let error = errno
            var existing = [CChar](repeating: 0, count: 4096)
            let n = readlink(pointer, &existing, existing.count - 1)
            if error == EEXIST, n > 0, String(decoding: existing[0 ..< n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == target { return }
            throw HubError.fileSystem(path: pointer, reason: String(cString: strerror(error)))
        }
    }
}

/// The files of a Hub model repo that Glimpse fetches, and what a usable model folder must hold.
public enum HubModelFiles {
    /// Fetched when the repo has them: configs (generation settings of captioners, sentence-transformers' module
    /// list and settings), tokenizer and preprocessor files.
    public static let optional = ["config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                  "vocab.json", "vocab.txt", "merges.txt", "sentencepiece.bpe.model", "spiece.model", "preprocessor_config.json",
                                  "generation_config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"]
    public static let weights = "model.safetensors"
    public static let weightsIndex = "model.safetensors.index.json"
    /// Read only when a repo has no safetensors weights (older checkpoints such as nlpconnect/vit-gpt2-image-captioning):
    /// parsed as data, never unpickled by Python. TF, Flax and ONNX weights are never fetched.
    public static let pytorchWeights = "pytorch_model.bin"

    /// The files of sentence-transformers modules (`1_Pooling/config.json`, `2_Dense/model.safetensors`, …).
    public static func isModuleFile(_ name: String) -> Bool {
        let parts = name.split(separator: "/")
        guard parts.count == 2, let digit = parts[0].first, digit.isNumber, parts[0].contains("_") else { return false }
        return ["config.json", "model.safetensors", "pytorch_model.bin"].contains(String(parts[1]))
    }

    /// What a folder lacks to be loaded as a CLIP model for image search: config.json, the safetensors weights
    /// (single file, or the index and every shard it lists), preprocessor_config.json, and a tokenizer
    /// (tokenizer.json, vocab.json + merges.txt, vocab.txt, or SigLIP's spiece.model). Empty when complete.
    public static func missing(in folder: String) -> [String] {
        func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent(name)) }
        var missing: [String] = []
        if !has("config.json") { missing.append("config.json") }
        if !has(weights) && !has(pytorchWeights) {
            if has(weightsIndex), let shards = try? shardNames(indexAt: (folder as NSString).appendingPathComponent(weightsIndex)) {
                missing += shards.filter { !has($0) }
            } else {
                missing.append(weights)
            }
        }
        // A sentence-transformers model is text only: no image preprocessor.
        if !has("preprocessor_config.json") && !has("modules.json") { missing.append("preprocessor_config.json") }
        if !has("tokenizer.json"), !(has("vocab.json") && has("merges.txt")), !has("vocab.txt"), !has("spiece.model") {
            missing.append("tokenizer.json")
        }
        return missing
    }

    /// The shard file names a `model.safetensors.index.json` lists in its `weight_map`, sorted and unique.
    static func shardNames(indexAt path: String) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = json["weight_map"] as? [String: Any]
        else { throw HubError.badResponse(url: path, reason: "no \"weight_map\" object in the safetensors index") }
        let names = Set(map.values.compactMap { $0 as? String })
        for name in names where !HubEnvironment.isSafeRelativePath(name) {
            throw HubError.badResponse(url: path, reason: "shard name \"\(name)\" is not a relative path inside the repo")
        }
        return names.sorted()
    }
}

/// Environment variables as `huggingface_hub` reads them, from an injectable dictionary.
enum HubEnvironment {
    static let defaultEndpoint = "https://huggingface.co"

    static func value(_ name: String, _ environment: [String: String]) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func home(_ environment: [String: String]) -> String {
        value("HOME", environment) ?? NSHomeDirectory()
    }

    /// `~` and `~/…` expanded with `$HOME` from `environment`.
    static func expand(_ path: String, _ environment: [String: String]) -> String {
        if path == "~" { return home(environment) }
        if path.hasPrefix("~/") { return (home(environment) as NSString).appendingPathComponent(String(path.dropFirst(2))) }
        return path
    }

    /// `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`.
    static func hfHome(_ environment: [String: String]) -> String {
        if let hfHome = value("HF_HOME", environment) { return expand(hfHome, environment) }
        let cache = value("XDG_CACHE_HOME", environment).map { expand($0, environment) }
            ?? (home(environment) as NSString).appendingPathComponent(".cache")
        return (cache as NSString).appendingPathComponent("huggingface")
    }

    /// `$HF_TOKEN`, else `$HUGGING_FACE_HUB_TOKEN`, else the file `$HF_TOKEN_PATH` (default `$HF_HOME/token`,
    /// written by `huggingface-cli login`).
    static func token(_ environment: [String: String]) -> String? {
        if let token = clean(value("HF_TOKEN", environment) ?? value("HUGGING_FACE_HUB_TOKEN", environment)) { return token }
        let path = value("HF_TOKEN_PATH", environment).map { expand($0, environment) }
            ?? (hfHome(environment) as NSString).appendingPathComponent("token")
        return clean(try? String(contentsOfFile: path, encoding: .utf8))
    }

    static func clean(_ token: String?) -> String? {
        guard let token else { return nil }
        let cleaned = token.replacingOccurrences(of: "\r", with: "").replacingOccurrences(of: "\n", with: "")
            .trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? nil : cleaned
    }

    /// `$HF_HUB_OFFLINE` or `$TRANSFORMERS_OFFLINE` set to 1/ON/YES/TRUE.
    static func isOffline(_ environment: [String: String]) -> Bool {
        let flag = (value("HF_HUB_OFFLINE", environment) ?? value("TRANSFORMERS_OFFLINE", environment) ?? "").uppercased()
        return ["1", "ON", "YES", "TRUE"].contains(flag)
    }

    static func isCommitHash(_ revision: String) -> Bool {
        revision.utf8.count == 40 && revision.utf8.allSatisfy { (48 ... 57).contains($0) || (97 ... 102).contains($0) }
    }

    /// A repo file name that stays inside the repo folder: relative, no `..`, no empty components, no backslash.
    static func isSafeRelativePath(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("/"), !name.contains("\\"), !name.contains("\0") else { return false }
        return name.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != ".." && $0 != "." }
    }
}

enum HubFileSystem {
    static func createDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw HubError.fileSystem(path: path, reason: "cannot create the folder (\(error.localizedDescription))")
        }
    }

    static func posixError(_ path: String) -> HubError {
        .fileSystem(path: path, reason: String(cString: strerror(errno)))
    }

    static func fileSize(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Int64(info.st_size)
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// An exclusive `flock` on `path` (the file `huggingface_hub`'s FileLock uses, so Python and Glimpse downloads
    /// of the same blob wait for each other). Polls without blocking a thread of the concurrency pool.
    static func withLock<T>(_ path: String, _ body: () async throws -> T) async throws -> T {
        try createDirectory((path as NSString).deletingLastPathComponent)
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw posixError(path) }
        defer { close(fd) }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw posixError(path) }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        defer { flock(fd, LOCK_UN) }
        return try await body()
    }
}
