import Foundation

/// Why a model could not be fetched from the Hugging Face Hub or found on disk. Each message says what to do.
public enum HubError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The endpoint could not be reached (no network, DNS failure, refused, timed out) and the model is not cached.
    case hubUnreachable(endpoint: String, repo: String, reason: String)
    /// `$HF_HUB_OFFLINE` is set and the model is not cached.
    case offline(repo: String)
    /// 401, or a 403 that is not a gated repo: missing, private, or a token without access.
    case authenticationRequired(repo: String, status: Int, tokenSent: Bool)
    /// 403 `GatedRepo`: the user must accept the model's terms on the Hub, then use a token.
    case gatedRepo(repo: String, tokenSent: Bool)
    case repoNotFound(repo: String)
    case revisionNotFound(repo: String, revision: String)
    case fileNotFound(repo: String, revision: String, file: String)
    /// The repo has no `model.safetensors` (nor a sharded index); Glimpse never reads pickled PyTorch weights.
    case noSafetensorsWeights(repo: String, otherWeights: [String])
    case invalidRepoID(String)
    case httpError(url: String, status: Int, message: String?)
    /// The server answered, but not as the Hub does (no `X-Repo-Commit`, no ETag, unparsable JSON…).
    case badResponse(url: String, reason: String)
    case checksumMismatch(file: String, expected: String, actual: String)
    case sizeMismatch(file: String, expected: Int64, actual: Int64)
    /// The connection kept failing while downloading `file`, even after resuming several times.
    case transferFailed(file: String, attempts: Int, reason: String)
    case fileSystem(path: String, reason: String)
    /// `--model` named a path that exists but is not a folder, or does not exist and is not a repo id either.
    case notAModelFolder(path: String, reason: String)

    static let modelFolderHint = "To use a model without the Hub, pass a local folder: --model DIR "
        + "(a Hugging Face CLIP model folder with config.json, model.safetensors, preprocessor_config.json and tokenizer files)."

    static let tokenHint = "If the model is private or gated, set HF_TOKEN to a Hugging Face access token with read access "
        + "(https://huggingface.co/settings/tokens), or log in with `huggingface-cli login`."

    public var description: String {
        switch self {
        case let .hubUnreachable(endpoint, repo, reason):
            return "Cannot reach the Hugging Face Hub at \(endpoint) to download \(repo) (\(reason)), and it is not in the local cache. "
                + "Check the network connection, or set HF_ENDPOINT to a reachable mirror. " + Self.modelFolderHint
        case let .offline(repo):
            return "\(repo) is not in the local Hugging Face cache and offline mode is on (HF_HUB_OFFLINE). "
                + "Unset HF_HUB_OFFLINE to download it. " + Self.modelFolderHint
        case let .authenticationRequired(repo, status, tokenSent):
            let what = tokenSent
                ? "the Hub refused the token in HF_TOKEN (HTTP \(status)): the repository \(repo) does not exist, or the token has no access to it."
                : "the Hub refused access to \(repo) (HTTP \(status)): the repository does not exist, or it is private or gated and needs a token."
            return "Cannot download \(repo): \(what) Check the name. " + Self.tokenHint
        case let .gatedRepo(repo, tokenSent):
            return "\(repo) is a gated model: accept its terms on https://huggingface.co/\(repo) with your account, then "
                + (tokenSent ? "make sure HF_TOKEN belongs to that account." : "set HF_TOKEN to an access token of that account.")
        case let .repoNotFound(repo):
            return "Repository \(repo) was not found on the Hugging Face Hub. Check the name (ORG/NAME), or pass a local folder with --model DIR. "
                + Self.tokenHint
        case let .revisionNotFound(repo, revision):
            return "Revision \"\(revision)\" was not found in \(repo) (not a branch, tag or commit of the repository)."
        case let .fileNotFound(repo, revision, file):
            return "\(file) was not found in \(repo) at revision \(revision)."
        case let .noSafetensorsWeights(repo, other):
            let others = other.isEmpty ? "" : " It only has \(other.joined(separator: ", ")), which Glimpse does not read."
            return "\(repo) has no model.safetensors weights.\(others) Use a repository with safetensors weights, "
                + "or convert the model and pass its folder with --model DIR."
        case let .invalidRepoID(id):
            return "\"\(id)\" is neither an existing model folder nor a Hugging Face repo id (ORG/NAME, letters, digits, '-', '_', '.')."
        case let .httpError(url, status, message):
            return "The Hub answered HTTP \(status) for \(url)" + (message.map { ": \($0)" } ?? ".")
                + (status >= 500 ? " The Hub may be having trouble; try again later." : "")
        case let .badResponse(url, reason):
            return "Unexpected answer from \(url): \(reason). If HF_ENDPOINT is set, check that it points to a Hugging Face Hub "
                + "(or a mirror of it); otherwise check proxy and firewall settings."
        case let .checksumMismatch(file, expected, actual):
            return "\(file) is corrupt: its checksum is \(actual) but the Hub says \(expected). The partial download was deleted; run the command again."
        case let .sizeMismatch(file, expected, actual):
            return "\(file) has \(actual) bytes but the Hub says \(expected). The partial download was deleted; run the command again."
        case let .transferFailed(file, attempts, reason):
            return "Downloading \(file) failed after \(attempts) attempts (\(reason)). What was received is kept; run the command again to resume."
        case let .fileSystem(path, reason):
            return "\(path): \(reason)"
        case let .notAModelFolder(path, reason):
            return "\(path): \(reason)"
        }
    }

    /// Errors after which a complete snapshot already in the cache is used instead (as `huggingface_hub` does).
    var allowsCacheFallback: Bool {
        switch self {
        case .hubUnreachable, .authenticationRequired, .gatedRepo, .badResponse: return true
        case let .httpError(_, status, _): return status >= 500 || status == 429 || status == 408
        default: return false
        }
    }
}
