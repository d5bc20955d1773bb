import Foundation
import GlimpseStore

/// How a scan differs from what the library holds: decided before any image is decoded.
struct ChangePlan {
    var unchanged = 0
    /// Files to embed; `replacing` is the stored id when the path was known but the file changed.
    var toEmbed: [(file: ScannedFile, replacing: Int64?)] = []
    var moves: [ImageMove] = []
    var removals: [Int64] = []
    /// Hashes computed while planning (new files), reused when storing.
    var hashes: [String: String] = [:]
    var failures: [IndexFailure] = []

    /// - Parameters:
    ///   - roots: the scanned roots; stored images under them that the scan did not see are removed,
    ///     except under folders that could not be read (those images are kept).
    static func make(scan: [ScannedFile], scanFailures: [IndexFailure], roots: [String], stored: [StoredFileState],
                     hash: (String) throws -> String) -> ChangePlan {
        var plan = ChangePlan()
        let byPath = Dictionary(stored.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        let seen = Set(scan.map(\.path))
        let unreadable = scanFailures.map(\.path)

        // Stored images that are gone from disk: candidates for moves, else removals.
        var vanishedByHash: [String: [StoredFileState]] = [:]
        var vanished = Set<Int64>()
        for state in stored where !seen.contains(state.path) && !FileManager.default.fileExists(atPath: state.path) {
            vanishedByHash[state.contentHash, default: []].append(state)
            vanished.insert(state.id)
        }

        for file in scan {
            if let state = byPath[file.path] {
                if state.size == file.size && state.mtimeNanoseconds == file.mtimeNanoseconds {
                    plan.unchanged += 1
                } else {
                    plan.toEmbed.append((file, state.id))
                }
                continue
            }
            // A new path: the same content under a vanished path is a move (keeps its embedding).
            if !vanishedByHash.isEmpty {
                do {
                    let h = try hash(file.path)
                    plan.hashes[file.path] = h
                    if var candidates = vanishedByHash[h], let match = candidates.firstIndex(where: { $0.size == file.size }) {
                        let state = candidates.remove(at: match)
                        vanishedByHash[h] = candidates
                        vanished.remove(state.id)
                        plan.moves.append(ImageMove(id: state.id, newPath: file.path, mtimeNanoseconds: file.mtimeNanoseconds))
                        continue
                    }
                } catch {
                    plan.failures.append(IndexFailure(path: file.path, error: "cannot read: \(error.localizedDescription)"))
                    continue
                }
            }
            plan.toEmbed.append((file, nil))
        }

        // Vanished images under a scanned root leave the library (never those under an unreadable folder).
        func under(_ path: String, _ root: String) -> Bool { path == root || path.hasPrefix(root == "/" ? "/" : root + "/") }
        for state in stored where vanished.contains(state.id) {
            if roots.contains(where: { under(state.path, $0) }) && !unreadable.contains(where: { under(state.path, $0) }) {
                plan.removals.append(state.id)
            }
        }
        return plan
    }
}
