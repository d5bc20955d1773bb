import CGlimpseKernels
import Foundation
import GlimpseTensor

/// Brute-force search: the inner product of the query with every stored row (a vectorised C kernel, AVX2 + FMA
/// here), the top k kept in a small heap. Exact, and the fastest choice for small libraries (a 20,000 × 512
/// library is 40 MB read once per query, a few milliseconds).
///
/// Layout: rows of `dimension` float32 values, contiguous (row i at `i * dimension`), and a parallel array of
/// labels; a dictionary maps a label to its row. Removal moves the last row into the hole, so rows stay dense.
public final class ExactIndex: VectorIndex, @unchecked Sendable {
    public let dimension: Int
    public private(set) var count = 0
    private(set) var capacity: Int
    private var vectorBuffer: PageBuffer
    private var labelBuffer: PageBuffer
    private var rowOf: [Int64: Int] = [:]

    /// Rows are searched in parallel once the index holds more than this many floats.
    var parallelThreshold = 1 << 22

    public init(dimension: Int, capacity: Int = 1024) {
        precondition(dimension > 0, "dimension must be positive")
        self.dimension = dimension
        self.capacity = max(capacity, 16)
        vectorBuffer = PageBuffer(bytes: self.capacity * dimension * 4)
        labelBuffer = PageBuffer(bytes: self.capacity * 8)
    }

    deinit {
        vectorBuffer.release()
        labelBuffer.release()
    }

    var vectors: UnsafeMutablePointer<Float> { vectorBuffer.base.assumingMemoryBound(to: Float.self) }
    var labelPointer: UnsafeMutablePointer<Int64> { labelBuffer.base.assumingMemoryBound(to: Int64.self) }

    /// Labels in row order.
    public var labels: [Int64] { Array(UnsafeBufferPointer(start: labelPointer, count: count)) }

    /// Bytes held by the index (vectors, labels, label dictionary).
    public var memoryBytes: Int { count * (dimension * 4 + 8) + rowOf.capacity * 24 }

    public func contains(label: Int64) -> Bool { rowOf[label] != nil }

    /// The stored (normalised) vector of `label`.
    public func vector(for label: Int64) -> [Float]? {
        guard let row = rowOf[label] else { return nil }
        return Array(UnsafeBufferPointer(start: vectors + row * dimension, count: dimension))
    }

    /// The stored vector of `label`, in place (valid until the next mutation).
    func storedVector(_ label: Int64) -> UnsafePointer<Float>? {
        rowOf[label].map { UnsafePointer(vectors + $0 * dimension) }
    }

    public func reserve(_ n: Int) {
        guard n > capacity else { return }
        capacity = n
        vectorBuffer.grow(to: n * dimension * 4)
        labelBuffer.grow(to: n * 8)
    }

    public func add(label: Int64, vector: [Float]) throws {
        let row: Int
        if let existing = rowOf[label] {
            row = existing
        } else {
            guard vector.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: vector.count) }
            if count == capacity { reserve(capacity * 2) }
            row = count
        }
        try vector.withUnsafeBufferPointer { try normalise($0, into: vectors + row * dimension, dimension: dimension) }
        if row == count {
            labelPointer[row] = label
            rowOf[label] = row
            count += 1
        }
    }

    public func add(labels: [Int64], vectors: [[Float]]) throws {
        precondition(labels.count == vectors.count, "labels and vectors differ in count")
        reserve(count + labels.count)
        for (label, vector) in zip(labels, vectors) { try add(label: label, vector: vector) }
    }

    @discardableResult
    public func remove(label: Int64) -> Bool {
        guard let row = rowOf.removeValue(forKey: label) else { return false }
        let last = count - 1
        if row != last {
            (vectors + row * dimension).update(from: vectors + last * dimension, count: dimension)
            let moved = labelPointer[last]
            labelPointer[row] = moved
            rowOf[moved] = row
        }
        count -= 1
        return true
    }

    /// Removes everything.
    public func removeAll() {
        rowOf.removeAll()
        count = 0
    }

    /// Calls `body` with every label and its normalised vector, in row order.
    public func forEach(_ body: (Int64, UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        for row in 0..<count {
            try body(labelPointer[row], UnsafeBufferPointer(start: vectors + row * dimension, count: dimension))
        }
    }

    public func search(_ query: [Float], k: Int, minScore: Float? = nil) throws -> [SearchResult] {
        guard query.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: query.count) }
        guard k > 0, count > 0 else { return [] }
        let q = UnsafeMutablePointer<Float>.allocate(capacity: dimension)
        defer { q.deallocate() }
        try query.withUnsafeBufferPointer { try normalise($0, into: q, dimension: dimension) }
        return search(normalisedQuery: q, k: k, minScore: minScore)
    }

    /// The `k` best among the vectors whose labels are in `allowed` (labels not in the index are ignored).
    public func search(_ query: [Float], k: Int, minScore: Float? = nil, allowed: Set<Int64>) throws -> [SearchResult] {
        try scoreLabels(query, labels: allowed, k: k, minScore: minScore, dimension: dimension, vector: storedVector)
    }

    /// Search with a query that is already unit length (no copy, no checks).
    public func search(normalisedQuery q: UnsafePointer<Float>, k: Int, minScore: Float? = nil) -> [SearchResult] {
        let n = count
        guard k > 0, n > 0 else { return [] }
        let kk = min(k, n)
        let rows = vectors
        let dim = dimension
        let floor = minScore ?? -.infinity
        let chunks = n * dim >= parallelThreshold ? ProcessInfo.processInfo.activeProcessorCount : 1
        var partial = [[UInt64]](repeating: [], count: chunks)
        partial.withUnsafeMutableBufferPointer { partial in
            let out = UncheckedSendable(partial.baseAddress!)
            let query = UncheckedSendable(q)
            let rowsPointer = UncheckedSendable(rows)
            let work = { (chunk: Int) in
                let start = n * chunk / chunks, end = n * (chunk + 1) / chunks
                var top = TopK(k: kk)
                defer { top.deallocate() }
                let block = 1024
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: block)
                defer { scores.deallocate() }
                var r = start
                while r < end {
                    let m = min(block, end - r)
                    glimpse_dot_rows(scores, query.value, rowsPointer.value + r * dim, m, dim)
                    for i in 0..<m {
                        let s = scores[i]
                        if s < floor { continue }
                        top.offer(packKey(s, UInt32(truncatingIfNeeded: r + i)))
                    }
                    r += m
                }
                out.value[chunk] = top.sortedDescending()
            }
            if chunks == 1 { work(0) } else { concurrentPerform(chunks, work) }
        }
        var merged = partial.flatMap { $0 }
        if chunks > 1 { merged.sort(by: >) }
        return results(from: merged.prefix(kk))
    }

    private func results(from keys: ArraySlice<UInt64>) -> [SearchResult] {
        var out = keys.map { SearchResult(label: labelPointer[Int(idOf(key: $0))], score: scoreOf(key: $0)) }
        out.sort { $0.score != $1.score ? $0.score > $1.score : $0.label < $1.label }
        return out
    }

    /// Exact top-k for many queries at once, as matrix products (BLAS) over blocks of rows: much faster than one
    /// query at a time when computing ground truth. Queries are normalised.
    public func search(batch queries: [[Float]], k: Int, minScore: Float? = nil) throws -> [[SearchResult]] {
        let nq = queries.count
        guard nq > 0 else { return [] }
        guard k > 0, count > 0 else { return Array(repeating: [], count: nq) }
        let dim = dimension
        let q = UnsafeMutablePointer<Float>.allocate(capacity: nq * dim)
        defer { q.deallocate() }
        for (i, query) in queries.enumerated() {
            guard query.count == dim else { throw IndexError.dimensionMismatch(expected: dim, got: query.count) }
            try query.withUnsafeBufferPointer { try normalise($0, into: q + i * dim, dimension: dim) }
        }
        let n = count, kk = min(k, n)
        let floor = minScore ?? -.infinity
        var tops = (0..<nq).map { _ in TopK(k: kk) }
        defer { for t in tops { t.deallocate() } }
        let qBlock = 256, rBlock = 2048
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: qBlock * rBlock)
        defer { scores.deallocate() }
        var q0 = 0
        while q0 < nq {
            let qb = min(qBlock, nq - q0)
            var r0 = 0
            while r0 < n {
                let rb = min(rBlock, n - r0)
                linear(scores, q + q0 * dim, weight: vectors + r0 * dim, bias: nil, rows: qb, inFeatures: dim, outFeatures: rb)
                for i in 0..<qb {
                    let row = scores + i * rb
                    for j in 0..<rb where row[j] >= floor {
                        tops[q0 + i].offer(packKey(row[j], UInt32(truncatingIfNeeded: r0 + j)))
                    }
                }
                r0 += rb
            }
            q0 += qb
        }
        return (0..<nq).map { results(from: tops[$0].sortedDescending()[...]) }
    }

    // MARK: - Persistence support

    /// Adopts `n` rows already read into `vectors` and their labels.
    func restore(labels: UnsafePointer<Int64>, count n: Int, path: String) throws {
        precondition(n <= capacity)
        var map = [Int64: Int](minimumCapacity: n)
        for row in 0..<n {
            let label = labels[row]
            if map.updateValue(row, forKey: label) != nil {
                throw IndexFileError.corrupt(path: path, reason: "label \(label) appears twice")
            }
            labelPointer[row] = label
        }
        rowOf = map
        count = n
    }
}
