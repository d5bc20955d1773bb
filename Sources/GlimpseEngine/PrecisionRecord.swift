import Foundation
import GlimpseStore
import GlimpseTensor

/// Records in a store, once per indexer, the precision its new vectors are made in.
final class PrecisionRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: Set<Precision> = []

    func note(_ precision: Precision, in store: any ImageStore) async throws {
        guard lock.withLock({ !recorded.contains(precision) }) else { return }
        try await store.recordPrecision(precision.rawValue)
        lock.withLock { _ = recorded.insert(precision) }
    }
}
