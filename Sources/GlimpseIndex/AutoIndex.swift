import Foundation
import CGlimpseKernels

/// The index a library uses: exact search while it is small, an HNSW graph once it is large, switching by itself.
///
/// - Up to `threshold` vectors (default 20,000) it is an `ExactIndex`: exact results, no build cost, and at that
///   size a query reads at most ~40 MB (512-d), a few milliseconds.
/// - When an insert takes it past `threshold`, it builds an `HNSWIndex` from its vectors (in parallel) and
///   continues with that. When removals take it below `threshold / 2`, it returns to exact search (the gap keeps
///   a library that hovers around the threshold from rebuilding back and forth).
/// - When removed HNSW elements (tombstones, which still route) exceed `maxTombstoneFraction` of the graph, the
///   graph is rebuilt without them.
///
/// Thread-safe: searches share a readers-writer lock; mutations run one at a time and hold it exclusively only
/// while they change the index, never while a replacement graph is built.
public final class AutoIndex: VectorIndex, @unchecked Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Exact search at or below this many vectors, HNSW above.
        public var threshold: Int
        public var hnsw: HNSWIndex.Parameters
        public var maxTombstoneFraction: Double
        public init(threshold: Int = 20_000, hnsw: HNSWIndex.Parameters = HNSWIndex.Parameters(), maxTombstoneFraction: Double = 0.25) {
            self.threshold = threshold
            self.hnsw = hnsw
            self.maxTombstoneFraction = maxTombstoneFraction
        }
    }

    public enum Kind: String, Sendable {
        case exact
        case hnsw
    }

    private enum Storage {
        case exact(ExactIndex)
        case hnsw(HNSWIndex)
    }

    public let dimension: Int
    public let configuration: Configuration
    private var storage: Storage
    /// Searches share it; taken exclusively only to change the current index or swap in a rebuilt one.
    private let lock = ReadWriteLock()
    /// One mutation (add, remove, rebuild) at a time. Searches never take it, so they keep answering while a
    /// switch to HNSW or a compaction is being built.
    private let mutationLock = NSLock()

    public init(dimension: Int, configuration: Configuration = Configuration()) {
        self.dimension = dimension
        self.configuration = configuration
        storage = .exact(ExactIndex(dimension: dimension))
    }

    private init(dimension: Int, configuration: Configuration, storage: Storage) {
        self.dimension = dimension
        self.configuration = configuration
        self.storage = storage
    }

    private var current: any VectorIndex {
        switch storage {
        case let .exact(index): index
        case let .hnsw(index): index
        }
    }

    /// Which search the index uses now.
    public var kind: Kind {
        lock.read {
            switch storage {
            case .exact: .exact
            case .hnsw: .hnsw
            }
        }
    }

    /// The HNSW graph when the index uses one (for statistics and tuning).
    public var graph: HNSWIndex? {
        lock.read {
            if case let .hnsw(index) = storage { return index }
            return nil
        }
    }

    public var count: Int { lock.read { current.count } }

    public func contains(label: Int64) -> Bool { lock.read { current.contains(label: label) } }

    public func add(label: Int64, vector: [Float]) throws {
        try add(labels: [label], vectors: [vector])
    }

    public func add(labels: [Int64], vectors: [[Float]]) throws {
        try mutationLock.withLock {
            try lock.write { try current.add(labels: labels, vectors: vectors) }
            rebalance()
        }
    }

    @discardableResult
    public func remove(label: Int64) -> Bool {
        mutationLock.withLock {
            let removed = lock.write { current.remove(label: label) }
            if removed { rebalance() }
            return removed
        }
    }

    /// Removes many labels; returns how many were present.
    @discardableResult
    public func remove(labels: [Int64]) -> Int {
        mutationLock.withLock {
            let removed = lock.write { labels.reduce(0) { $0 + (current.remove(label: $1) ? 1 : 0) } }
            if removed > 0 { rebalance() }
            return removed
        }
    }

    public func search(_ query: [Float], k: Int, minScore: Float? = nil) throws -> [SearchResult] {
        try lock.read { try current.search(query, k: k, minScore: minScore) }
    }

    /// Search with an explicit HNSW `ef` (ignored by exact search).
    public func search(_ query: [Float], k: Int, ef: Int, minScore: Float? = nil) throws -> [SearchResult] {
        try lock.read {
            switch storage {
            case let .exact(index): try index.search(query, k: k, minScore: minScore)
            case let .hnsw(index): try index.search(query: query, k: k, ef: ef, minScore: minScore)
            }
        }
    }

    /// The `k` best vectors among those whose labels are in `allowed` (a metadata filter's matches).
    ///
    /// Two ways, chosen by the filter's size m against the index's n: scoring the m allowed vectors directly
    /// costs m dot products; a filtered HNSW traversal needs about ef·n/m visits before it holds ef allowed
    /// results (and loses recall as the allowed elements get sparse in the graph). So allowed sets up to
    /// 2·√(ef·n) are scored directly (exact), larger ones traverse the graph with the filter. Exact search
    /// scores the allowed rows directly always.
    public func search(_ query: [Float], k: Int, ef: Int? = nil, minScore: Float? = nil, allowed: Set<Int64>) throws -> [SearchResult] {
        try lock.read {
            guard k > 0, !allowed.isEmpty, current.count > 0 else {
                guard query.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: query.count) }
                return []
            }
            switch storage {
            case let .exact(index):
                return try scoreLabels(query, labels: allowed, k: k, minScore: minScore, dimension: dimension, vector: index.storedVector)
            case let .hnsw(index):
                let width = max(ef ?? index.ef, k)
                if Double(allowed.count) <= Self.directScoringLimit(ef: width, count: index.count) {
                    return try scoreLabels(query, labels: allowed, k: k, minScore: minScore, dimension: dimension, vector: index.storedVector)
                }
                return try index.search(query: query, k: k, ef: width, minScore: minScore, allowed: { allowed.contains($0) })
            }
        }
    }

    /// Largest allowed set that filtered search scores directly rather than traversing the graph.
    public static func directScoringLimit(ef: Int, count: Int) -> Double { 2 * (Double(ef) * Double(count)).squareRoot() }

    public func save(to path: String, origin: IndexOrigin) throws {
        try lock.read { try current.save(to: path, origin: origin) }
    }

    /// Reads either kind of index file (and then applies `configuration`'s switching rules).
    public static func load(from path: String, expectedGeneration: UInt64? = nil, expectedDimension: Int? = nil,
                            configuration: Configuration = Configuration()) throws -> AutoIndex {
        let header = try IndexFileHeader.read(from: path)
        let storage: Storage
        switch header.kind {
        case .exact:
            storage = .exact(try ExactIndex.load(from: path, expectedGeneration: expectedGeneration, expectedDimension: expectedDimension))
        case .hnsw:
            storage = .hnsw(try HNSWIndex.load(from: path, expectedGeneration: expectedGeneration, expectedDimension: expectedDimension))
        }
        let index = AutoIndex(dimension: header.dimension, configuration: configuration, storage: storage)
        index.mutationLock.withLock { index.rebalance() }
        return index
    }

    /// Called after a rebuild is made and before it replaces the current index (tests check that searches
    /// still answer at that moment).
    public var rebuildWillReplace: (@Sendable () -> Void)?

    /// Applies the switching rules. The caller holds `mutationLock`, so nothing changes the current index while
    /// the replacement is built from it; searches (which, like the build, only read it) keep running, and the
    /// exclusive lock is taken only to swap the finished index in.
    private func rebalance() {
        let replacement: Storage
        switch storage {
        case let .exact(exact) where exact.count > configuration.threshold:
            let graph = HNSWIndex(dimension: dimension, parameters: configuration.hnsw, capacity: exact.count)
            var labels: [Int64] = []
            labels.reserveCapacity(exact.count)
            var flat: [Float] = []
            flat.reserveCapacity(exact.count * dimension)
            exact.forEach { label, vector in
                labels.append(label)
                flat.append(contentsOf: vector)
            }
            flat.withUnsafeBufferPointer { try! graph.add(labels: labels, flatVectors: $0) }
            replacement = .hnsw(graph)
        case let .hnsw(graph) where graph.count < configuration.threshold / 2:
            let exact = ExactIndex(dimension: dimension, capacity: max(graph.count, 16))
            graph.forEachLive { label, vector in try! exact.add(label: label, vector: Array(vector)) }
            replacement = .exact(exact)
        case let .hnsw(graph) where Double(graph.deletedCount) > configuration.maxTombstoneFraction * Double(graph.elementCount):
            replacement = .hnsw(graph.compacted())
        default:
            return
        }
        rebuildWillReplace?()
        lock.write { storage = replacement }
    }
}
