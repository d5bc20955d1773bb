import Foundation
import GlimpseEngine

/// What `GET /api/index/status` answers.
public struct IndexStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable { case idle, running, finished, failed }
    public var state: State = .idle
    public var done = 0
    public var total = 0
    public var added = 0
    public var updated = 0
    public var moved = 0
    public var removed = 0
    public var unchanged = 0
    public var failed = 0
    public var startedAt: Double?
    public var finishedAt: Double?
    public var error: String?

    enum CodingKeys: String, CodingKey {
        case state, done, total, added, updated, moved, removed, unchanged, failed, error
        case startedAt = "started_at", finishedAt = "finished_at"
    }
}

/// Follows one indexing run at a time (the Indexer's progress receiver) for the status endpoint.
public final class IndexStatusTracker: IndexProgress, @unchecked Sendable {
    private let lock = NSLock()
    private var status = IndexStatus()

    public init() {}

    public var snapshot: IndexStatus { lock.withLock { status } }

    func begin() {
        lock.withLock { status = IndexStatus(state: .running, startedAt: Date().timeIntervalSince1970) }
    }

    func end(_ summary: IndexSummary) {
        lock.withLock {
            status.state = .finished
            status.added = summary.added; status.updated = summary.updated; status.moved = summary.moved
            status.removed = summary.removed; status.unchanged = summary.unchanged; status.failed = summary.failed.count
            status.finishedAt = Date().timeIntervalSince1970
        }
    }

    func fail(_ error: Error) {
        lock.withLock {
            status.state = .failed
            status.error = "\(error)"
            status.finishedAt = Date().timeIntervalSince1970
        }
    }

    public func started(total: Int) { lock.withLock { status.total = total; status.done = 0 } }
    public func advanced(done: Int, total: Int) { lock.withLock { status.done = done; status.total = total } }
    public func finished() {}
}
