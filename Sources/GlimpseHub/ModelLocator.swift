import Foundation

/// Turns the `--model` argument into a model folder: a folder on disk is used as it is; a Hugging Face repo id
/// (`ORG/NAME`) is looked up in the Hub cache and downloaded on first use.
public enum ModelLocator {
    public static let defaultModel = "openai/clip-vit-base-patch32"

    /// The model to use: `option` (the `--model` value), else `$GLIMPSE_MODEL`, else `defaultModel`.
    public static func modelName(option: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let option, !option.isEmpty { return option }
        return HubEnvironment.value("GLIMPSE_MODEL", environment) ?? defaultModel
    }

    /// What `nameOrPath` names, without touching the disk beyond one `stat` or the network.
    public enum Reference: Equatable, Sendable {
        case folder(String)
        case repo(String)
    }

    /// A folder if one exists at `nameOrPath` (or it is written as a path: absolute, `./`, `../`, `~`); else a repo id.
    public static func reference(_ nameOrPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Reference {
        let path = HubEnvironment.expand(nameOrPath, environment)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw HubError.notAModelFolder(path: nameOrPath, reason: "is a file; --model takes a model folder or a Hugging Face repo id (ORG/NAME)")
            }
            return .folder(URL(fileURLWithPath: path).standardizedFileURL.path)
        }
        let looksLikePath = path.hasPrefix("/") || path.hasPrefix("./") || path.hasPrefix("../") || path.hasPrefix("~")
            || path == "." || path == ".." || path.hasSuffix("/") || path.contains("\\")
        if looksLikePath {
            throw HubError.notAModelFolder(path: nameOrPath, reason: "no such folder")
        }
        guard HubClient.isValidRepoID(nameOrPath) else { throw HubError.invalidRepoID(nameOrPath) }
        return .repo(nameOrPath)
    }

    /// The local model folder for `nameOrPath`: the folder itself, the cached snapshot of the repo at `revision`
    /// (no network when it is complete), or the snapshot `client` downloads (offline fallbacks as in `HubClient.download`).
    public static func resolve(_ nameOrPath: String, revision: String = "main", client: HubClient = HubClient(),
                               environment: [String: String] = ProcessInfo.processInfo.environment,
                               progress: (@Sendable (HubProgress) -> Void)? = nil) async throws -> String
    {
        switch try reference(nameOrPath, environment: environment) {
        case let .folder(folder):
            return folder
        case let .repo(repo):
            if let folder = client.cache.snapshotFolder(repo: repo, revision: revision) { return folder }
            return try await client.download(repo: repo, revision: revision, progress: progress)
        }
    }
}
