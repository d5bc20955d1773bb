import Foundation

/// Turns concurrent text queries into batches for the text encoder.
///
/// Queries that arrive while the encoder is busy wait together and are taken at once (up to `maxBatch`), on one
/// dedicated thread so the model never blocks Swift's cooperative pool; identical queries in a batch are encoded
/// once, and recent embeddings are cached (typing re-sends prefixes, pages re-send the query).
public final class TextQueryBatcher: @unchecked Sendable {
    public typealias Encode = @Sendable ([String]) -> [[Float]]

    private struct Pending { let key: String; let text: String; let continuation: CheckedContinuation<[Float], Never> }

    private let encode: Encode
    private let maxBatch: Int
    private let cacheCapacity: Int
    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var cache: [String: [Float]] = [:]
    private var cacheOrder: [String] = []
    private var stopped = false
    /// Sizes of the batches run so far (for tests and metrics).
    public private(set) var batchSizes: [Int] = []

    public init(maxBatch: Int = 16, cacheCapacity: Int = 2048, encode: @escaping Encode) {
        self.maxBatch = max(1, maxBatch)
        self.cacheCapacity = cacheCapacity
        self.encode = encode
        let thread = Thread { [weak self] in self?.work() }
        thread.name = "glimpse.text-encoder"
        thread.start()
    }

    deinit { stop() }

    public func stop() {
        condition.lock(); stopped = true; condition.broadcast(); condition.unlock()
    }

    static func key(_ text: String) -> String {
        text.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    /// The embedding of `text` (from the cache, or from the next batch).
    public func embed(_ text: String) async -> [Float] {
        let key = Self.key(text)
        if let hit = cached(key) { return hit }
        return await withCheckedContinuation { continuation in enqueue(Pending(key: key, text: text, continuation: continuation)) }
    }

    private func cached(_ key: String) -> [Float]? {
        condition.lock(); defer { condition.unlock() }
        return cache[key]
    }

    private func enqueue(_ item: Pending) {
        condition.lock()
        pending.append(item)
        condition.signal()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if stopped && pending.isEmpty { condition.unlock(); return }
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            var unique: [String: String] = [:]
            var known: [String: [Float]] = [:]
            for item in batch {
                if let hit = cache[item.key] { known[item.key] = hit } else { unique[item.key] = item.text }
            }
            condition.unlock()

            let keys = Array(unique.keys)
            let vectors = keys.isEmpty ? [] : encode(keys.map { unique[$0]! })
            condition.lock()
            batchSizes.append(keys.count)
            if batchSizes.count > 1000 { batchSizes.removeFirst(500) }
            for (key, vector) in zip(keys, vectors) {
                known[key] = vector
                if cache[key] == nil {
                    cache[key] = vector
                    cacheOrder.append(key)
                    if cacheOrder.count > cacheCapacity { cache[cacheOrder.removeFirst()] = nil }
                }
            }
            condition.unlock()
            for item in batch { item.continuation.resume(returning: known[item.key] ?? []) }
        }
    }
}
