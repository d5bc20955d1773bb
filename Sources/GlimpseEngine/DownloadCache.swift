import Crypto
import Foundation

/// Where downloaded originals are kept, one file per URL (named by a hash of the URL).
///
/// With `--cache DIR` the files stay: a later re-index (a new model, a rebuilt library) never downloads them again.
/// Without it, the default folder (`$XDG_CACHE_HOME/glimpse/downloads`) holds each download only until its batch
/// is committed, so a run killed between the two repeats no download either: the next run finds it here.
public struct DownloadCache: Sendable {
    public let directory: String
    /// Keep files after their batch is committed.
    public let keep: Bool

    public init(directory: String, keep: Bool) throws {
        self.directory = directory
        self.keep = keep
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw IndexFailure(path: directory, error: "cannot create the download folder: \(error.localizedDescription)")
        }
    }

    /// `$XDG_CACHE_HOME/glimpse/downloads`, else `~/.cache/glimpse/downloads`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        return (base as NSString).appendingPathComponent("glimpse/downloads")
    }

    /// The file for `url` (whether or not it exists yet).
    public func path(for url: String) -> String {
        let digest = SHA256.hash(data: Data(url.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        return (directory as NSString).appendingPathComponent(digest)
    }

    /// The validator the download of `url` came with, kept beside it.
    public func validator(for url: String) -> String? {
        (try? String(contentsOfFile: path(for: url) + ".validator", encoding: .utf8)).flatMap { $0.isEmpty ? nil : $0 }
    }

    public func record(validator: String?, for url: String) {
        let file = path(for: url) + ".validator"
        if let validator { try? validator.write(toFile: file, atomically: true, encoding: .utf8) } else { try? FileManager.default.removeItem(atPath: file) }
    }

    /// A complete download of `url`, when there is one.
    public func existing(_ url: String) -> String? {
        let file = path(for: url)
        return FileManager.default.fileExists(atPath: file) ? file : nil
    }

    /// Forgets a download once it is committed (unless the cache keeps originals).
    public func release(_ url: String) {
        guard !keep else { return }
        try? FileManager.default.removeItem(atPath: path(for: url))
        try? FileManager.default.removeItem(atPath: path(for: url) + ".validator")
    }
}
