import Dispatch
import Foundation

/// Runs blocking work (decoding, the model, SQLite writes) off Swift's cooperative pool on at most `width` threads
/// at once; further requests wait their turn, first come first served. A burst of uploads thus queues instead of
/// starting one decoding thread (and one decoded image in memory) per request.
final class BlockingWorkQueue: @unchecked Sendable {
    let width: Int
    private let lock = NSLock()
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private var peak = 0

    init(width: Int) {
        precondition(width >= 1, "a work queue needs at least one thread")
        self.width = width
    }

    /// The most jobs that ever ran at once.
    var peakConcurrency: Int { lock.withLock { peak } }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let admitted: Bool = lock.withLock {
                guard running < width else { waiting.append(continuation); return false }
                running += 1
                peak = max(peak, running)
                return true
            }
            if admitted { continuation.resume() }
        }
    }

    /// Hands the slot to the next waiter, if any.
    private func release() {
        let next: CheckedContinuation<Void, Never>? = lock.withLock {
            if waiting.isEmpty { running -= 1; return nil }
            return waiting.removeFirst()
        }
        next?.resume()
    }
}
