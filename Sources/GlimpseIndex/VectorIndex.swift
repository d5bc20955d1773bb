import CGlimpseKernels

// Vector search for Glimpse: exact search (SIMD) for small libraries, an HNSW graph for large ones, and
// AutoIndex, which picks between them. Scores are inner products of L2-normalised vectors (cosine similarity).

/// One search hit: the caller's label and the cosine similarity of its vector to the query.
public struct SearchResult: Sendable, Hashable, CustomStringConvertible {
    public var label: Int64
    public var score: Float
    public init(label: Int64, score: Float) {
        self.label = label
        self.score = score
    }
    public var description: String { "(\(label), \(score))" }
}

/// A caller error: a vector of the wrong size, or one that cannot be normalised.
public enum IndexError: Error, Equatable, CustomStringConvertible {
    case dimensionMismatch(expected: Int, got: Int)
    /// Zero, NaN or infinite values: the vector has no direction.
    case invalidVector(reason: String)

    public var description: String {
        switch self {
        case let .dimensionMismatch(expected, got): "vector has \(got) values, the index holds \(expected)-d vectors"
        case let .invalidVector(reason): "invalid vector: \(reason)"
        }
    }
}

/// What every Glimpse vector index does. Vectors are L2-normalised on insert and queries before search, so the
/// score of a hit is the cosine similarity to the query (best first). Labels are the caller's ids (e.g. SQLite row
/// ids); adding a label that is already present replaces its vector.
///
/// Thread safety of the concrete indexes: any number of concurrent searches are safe while no mutation runs;
/// `add`, `remove` and `load` need exclusive access. `AutoIndex` takes a readers-writer lock and is safe to share.
public protocol VectorIndex: AnyObject, Sendable {
    /// Values per vector.
    var dimension: Int { get }
    /// Live (not removed) vectors.
    var count: Int { get }
    func contains(label: Int64) -> Bool
    /// Inserts or replaces the vector of `label`.
    func add(label: Int64, vector: [Float]) throws
    /// Inserts or replaces many vectors at once (HNSW builds in parallel on all cores).
    func add(labels: [Int64], vectors: [[Float]]) throws
    /// Removes `label`; false if it was not present.
    @discardableResult func remove(label: Int64) -> Bool
    /// The `k` labels whose vectors are most similar to `query`, best first, only those scoring at least
    /// `minScore` when it is given. Fewer than k when the index holds fewer.
    func search(_ query: [Float], k: Int, minScore: Float?) throws -> [SearchResult]
    /// Writes the index atomically (temporary file, fsync, rename) with the caller's library id and generation in
    /// the header.
    func save(to path: String, origin: IndexOrigin) throws
}

extension VectorIndex {
    /// Saves an index that belongs to no library (tools, tests).
    public func save(to path: String, generation: UInt64) throws { try save(to: path, origin: IndexOrigin(generation: generation)) }
    public func search(_ query: [Float], k: Int) throws -> [SearchResult] { try search(query, k: k, minScore: nil) }
    public func add(labels: [Int64], vectors: [[Float]]) throws {
        precondition(labels.count == vectors.count, "labels and vectors differ in count")
        for (label, vector) in zip(labels, vectors) { try add(label: label, vector: vector) }
    }
}

/// Copies `vector` into `out`, scaled to unit length; throws for a wrong size, zero or non-finite vector.
@inline(__always)
func normalise(_ vector: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>, dimension: Int) throws {
    guard vector.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: vector.count) }
    var sum: Double = 0
    for v in vector { sum += Double(v) * Double(v) }
    guard sum.isFinite else { throw IndexError.invalidVector(reason: "contains NaN or infinite values") }
    guard sum > 0 else { throw IndexError.invalidVector(reason: "all values are zero") }
    let scale = Float(1 / sum.squareRoot())
    for i in 0..<dimension { out[i] = vector[i] * scale }
}

func normalised(_ vector: [Float], dimension: Int) throws -> [Float] {
    guard vector.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: vector.count) }
    var out = [Float](repeating: 0, count: vector.count)
    try vector.withUnsafeBufferPointer { src in
        try out.withUnsafeMutableBufferPointer { dst in try normalise(src, into: dst.baseAddress!, dimension: dimension) }
    }
    return out
}

/// Exact top-k among `labels` only, scoring each one's stored vector (a filter's matches).
func scoreLabels(_ query: [Float], labels: Set<Int64>, k: Int, minScore: Float?, dimension: Int,
                 vector: (Int64) -> UnsafePointer<Float>?) throws -> [SearchResult] {
    let q = try normalised(query, dimension: dimension)
    var found: [SearchResult] = []
    found.reserveCapacity(labels.count)
    q.withUnsafeBufferPointer { q in
        for label in labels {
            guard let v = vector(label) else { continue }
            let s = glimpse_dot(q.baseAddress!, v, dimension)
            if let minScore, s < minScore { continue }
            found.append(SearchResult(label: label, score: s))
        }
    }
    found.sort { $0.score != $1.score ? $0.score > $1.score : $0.label < $1.label }
    return Array(found.prefix(k))
}

