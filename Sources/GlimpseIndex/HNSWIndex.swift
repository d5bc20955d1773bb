import CGlimpseKernels
import Foundation

/// Hierarchical Navigable Small World graph (Malkov & Yashunin, 2016), the whole index in one type, after hnswlib
/// (names as there: `M`, `maxM`, `maxM0`, `efConstruction`, `ef`, `mult`, `maxLevel`, `entryPoint`).
///
/// Elements have internal ids 0..<elementCount, separate from the caller's labels (`Int64`; a dictionary maps a
/// label to the id of its latest element).
///
/// ## Memory layout
/// Layer 0 is one flat buffer of fixed-size records, one per element, the record of id `i` at `i * recordSize`:
///
///     [ vector: dimension × Float32 | link count: UInt32 | maxM0 × UInt32 neighbour ids | label: Int64 | pad ]
///
/// rounded up to 64 bytes so that every vector starts on a cache line. A search reads a neighbour's vector and,
/// when it expands it, the links just after it: one record, no pointer chasing. Upper layers (levels ≥ 1, about
/// 1 element in M per level) hold per element one block of `level × (1 + maxM)` UInt32 (a count and maxM ids per
/// level). Levels (Int32), removal flags (UInt8) and the upper-block pointers are flat arrays by id. The big arrays
/// are anonymous mappings (`PageBuffer`): growth costs no copy on Linux and unused capacity costs no memory, and
/// they ask for transparent huge pages, which remove most TLB misses of a search's scattered reads.
///
/// For a million 512-d vectors at M = 16 (maxM0 = 32): record = 2,048 (vector) + 4 + 128 (links) + 8 (label)
/// = 2,188 B, padded to 2,240 B → 2.24 GB; upper layers ≈ 1/(M−1) levels × 68 B ≈ 4.5 B, plus 8 B pointer,
/// 4 B level, 1 B flag per element → 18 MB; label dictionary ≈ 25 MB; one visited list (2 B per element) per
/// searching thread, 2 MB. Total ≈ 2.29 GB (2.13 GiB) resident for search, within 2.5 GB, with vectors stored in
/// float32 so no re-ranking is needed. (A parallel build adds one 40-byte mutex per element, 40 MB, freed after.)
///
/// ## Removal
/// `remove(label:)` sets the element's removal flag (`deleted[id] = 1`): a removed element still routes searches
/// (its links stay, so the graph stays connected) but is never returned. Adding a removed label again with the same
/// vector clears the flag (revives it); with another vector, or adding a live label with another vector, the old
/// element stays as a removed "tombstone" and a new element is inserted. `compacted()` rebuilds without tombstones
/// (`AutoIndex` does so when they exceed a quarter of the elements).
///
/// ## Concurrency
/// `add(labels:vectors:)` inserts in parallel on all cores with one mutex per element guarding its link lists,
/// exactly as hnswlib: the inserting thread holds its element's lock for the whole insertion, and every read or
/// rewrite of another element's links takes that element's lock. Levels come from a seeded generator, drawn in
/// input order before the parallel part, so a single-threaded build is fully repeatable. Queries take no locks:
/// any number may run concurrently while no mutation runs.
public final class HNSWIndex: VectorIndex, @unchecked Sendable {
    public struct Parameters: Sendable, Hashable {
        /// Links per element on upper layers (layer 0 has 2·M).
        public var M: Int
        /// Candidate list size while inserting.
        public var efConstruction: Int
        /// Default candidate list size while searching (at least k is used).
        public var ef: Int
        /// Seed of the level generator.
        public var seed: UInt64
        public init(M: Int = 16, efConstruction: Int = 200, ef: Int = 64, seed: UInt64 = 100) {
            self.M = M
            self.efConstruction = efConstruction
            self.ef = ef
            self.seed = seed
        }
    }

    public let dimension: Int
    public let M: Int
    public let maxM: Int
    public let maxM0: Int
    public let efConstruction: Int
    /// Default query-time candidate list size.
    public var ef: Int
    /// Level normalisation, 1 / ln(M).
    public let mult: Double
    public private(set) var maxLevel = -1
    /// Internal id where every search starts (on the top layer); nil while empty.
    public private(set) var entryPoint: UInt32?
    /// Elements stored, removed ones (tombstones) included.
    public private(set) var elementCount = 0
    /// Elements flagged as removed.
    public private(set) var deletedCount = 0
    public var count: Int { elementCount - deletedCount }
    public var parameters: Parameters { Parameters(M: M, efConstruction: efConstruction, ef: ef, seed: seed) }
    let seed: UInt64

    // Layout.
    let recordSize: Int
    let linksOffset: Int
    let labelOffset: Int
    let upperListSize: Int
    private(set) var capacity = 0
    private var level0: PageBuffer
    private var levelBuffer: PageBuffer
    private var upperBuffer: PageBuffer
    private var deletedBuffer: PageBuffer
    private(set) var upperBytes = 0
    var labelToID: [Int64: UInt32] = [:]
    var rng: SplitMix64

    // Per-thread search scratch (visited lists, heaps), recycled like hnswlib's VisitedListPool.
    private let scratchLock = NSLock()
    private var scratchPool: [SearchScratch] = []
    private let globalLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    public init(dimension: Int, parameters: Parameters = Parameters(), capacity: Int = 1024) {
        precondition(dimension > 0, "dimension must be positive")
        precondition(parameters.M >= 2 && parameters.M <= 2048, "M must be in 2...2048")
        self.dimension = dimension
        M = parameters.M
        maxM = parameters.M
        maxM0 = parameters.M * 2
        efConstruction = max(parameters.efConstruction, parameters.M)
        ef = max(parameters.ef, 1)
        mult = 1 / log(Double(parameters.M))
        seed = parameters.seed
        rng = SplitMix64(seed: parameters.seed)
        linksOffset = dimension * 4
        labelOffset = (linksOffset + 4 + maxM0 * 4 + 7) & ~7
        recordSize = (labelOffset + 8 + 63) & ~63
        upperListSize = 1 + maxM
        level0 = PageBuffer(bytes: 0)
        levelBuffer = PageBuffer(bytes: 0)
        upperBuffer = PageBuffer(bytes: 0)
        deletedBuffer = PageBuffer(bytes: 0)
        pthread_mutex_init(globalLock, nil)
        reserve(capacity)
    }

    deinit {
        let upper = view.upper
        for i in 0..<elementCount { upper[i]?.deallocate() }
        level0.release()
        levelBuffer.release()
        upperBuffer.release()
        deletedBuffer.release()
        for s in scratchPool { s.deallocate() }
        pthread_mutex_destroy(globalLock)
        globalLock.deallocate()
    }

    /// Makes room for `n` elements without further growth.
    public func reserve(_ n: Int) {
        guard n > capacity else { return }
        precondition(n < Int(UInt32.max), "HNSWIndex holds at most 2^32 - 1 elements")
        level0.grow(to: n * recordSize)
        levelBuffer.grow(to: n * 4)
        upperBuffer.grow(to: n * 8)
        deletedBuffer.grow(to: n)
        capacity = n
    }

    /// Bytes used: layer-0 records, upper layers, per-element arrays, label dictionary (estimated).
    public var memoryBytes: Int {
        elementCount * (recordSize + 4 + 8 + 1) + upperBytes + labelToID.capacity * 16
    }

    /// A snapshot of the layout's pointers for the hot loops (valid until the index grows).
    var view: GraphView {
        GraphView(base: level0.base, recordSize: recordSize, linksOffset: linksOffset, dim: dimension,
                  upper: upperBuffer.base.assumingMemoryBound(to: UnsafeMutablePointer<UInt32>?.self),
                  upperListSize: upperListSize, deleted: deletedBuffer.base.assumingMemoryBound(to: UInt8.self),
                  levels: levelBuffer.base.assumingMemoryBound(to: Int32.self))
    }

    // MARK: - Labels

    public func contains(label: Int64) -> Bool {
        guard let id = labelToID[label] else { return false }
        return !view.isDeleted(id)
    }

    /// The stored (normalised) vector of a live label.
    public func vector(for label: Int64) -> [Float]? {
        guard let id = labelToID[label], !view.isDeleted(id) else { return nil }
        return Array(UnsafeBufferPointer(start: view.vector(id), count: dimension))
    }

    func label(of id: UInt32) -> Int64 { view.label(id, offset: labelOffset) }

    /// Internal id of a label's current element (removed or not).
    public func internalID(of label: Int64) -> UInt32? { labelToID[label] }

    /// The stored vector of a live `label`, in place (valid until the next mutation).
    func storedVector(_ label: Int64) -> UnsafePointer<Float>? {
        guard let id = labelToID[label], !view.isDeleted(id) else { return nil }
        return UnsafePointer(view.vector(id))
    }

    /// Whether the element with this internal id is flagged as removed.
    public func isDeleted(internalID id: UInt32) -> Bool { view.isDeleted(id) }

    /// Calls `body` with every live label and its normalised vector, in internal-id order.
    public func forEachLive(_ body: (Int64, UnsafeBufferPointer<Float>) throws -> Void) rethrows {
        let v = view
        for i in 0..<elementCount where !v.isDeleted(UInt32(i)) {
            let id = UInt32(i)
            if labelToID[v.label(id, offset: labelOffset)] != id { continue }
            try body(v.label(id, offset: labelOffset), UnsafeBufferPointer(start: v.vector(id), count: dimension))
        }
    }

    // MARK: - Insert and remove

    public func add(label: Int64, vector: [Float]) throws { try add(labels: [label], vectors: [vector]) }

    /// Inserts or replaces many vectors; large batches are inserted in parallel on all cores.
    public func add(labels: [Int64], vectors: [[Float]]) throws {
        precondition(labels.count == vectors.count, "labels and vectors differ in count")
        try add(count: labels.count, parallel: true) { i, out in
            try vectors[i].withUnsafeBufferPointer { try body(label: labels[i], vector: $0, into: out) }
        }
    }

    /// Inserts `count` rows of a flat row-major buffer (no per-vector arrays): the fast path for bulk builds.
    public func add(labels: [Int64], flatVectors: UnsafeBufferPointer<Float>, parallel: Bool = true) throws {
        guard flatVectors.count == labels.count * dimension else {
            throw IndexError.dimensionMismatch(expected: dimension, got: labels.isEmpty ? 0 : flatVectors.count / labels.count)
        }
        let d = dimension
        try add(count: labels.count, parallel: parallel) { i, out in
            try body(label: labels[i], vector: UnsafeBufferPointer(rebasing: flatVectors[(i * d)..<((i + 1) * d)]), into: out)
        }
    }

    private func body(label: Int64, vector: UnsafeBufferPointer<Float>, into out: UnsafeMutablePointer<Float>?) throws -> Int64 {
        if let out { try normalise(vector, into: out, dimension: dimension) } else { _ = try validate(vector) }
        return label
    }

    private func validate(_ vector: UnsafeBufferPointer<Float>) throws -> Bool {
        guard vector.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: vector.count) }
        var sum: Double = 0
        for x in vector { sum += Double(x) * Double(x) }
        guard sum.isFinite else { throw IndexError.invalidVector(reason: "contains NaN or infinite values") }
        guard sum > 0 else { throw IndexError.invalidVector(reason: "all values are zero") }
        return true
    }

    /// `item(i, nil)` validates item i and returns its label; `item(i, out)` also writes its normalised vector.
    private func add(count n: Int, parallel: Bool,
                     item: (Int, UnsafeMutablePointer<Float>?) throws -> Int64) throws {
        guard n > 0 else { return }
        // Validate everything first: a bad vector throws before the index changes.
        for i in 0..<n { _ = try item(i, nil) }

        if elementCount + n > capacity { reserve(max(elementCount + n, capacity * 2)) }
        let scratchVector = UnsafeMutablePointer<Float>.allocate(capacity: dimension)
        defer { scratchVector.deallocate() }
        var newIDs: [UInt32] = []
        newIDs.reserveCapacity(n)
        for i in 0..<n {
            let label = try item(i, scratchVector)
            let v = view
            if let old = labelToID[label] {
                if memcmp(v.vector(old), scratchVector, dimension * 4) == 0 {
                    if v.isDeleted(old) {  // revive
                        v.deleted[Int(old)] = 0
                        deletedCount -= 1
                    }
                    continue
                }
                if !v.isDeleted(old) {  // the old vector becomes a tombstone that still routes
                    v.deleted[Int(old)] = 1
                    deletedCount += 1
                }
            }
            let id = UInt32(elementCount)
            let record = level0.base + Int(id) * recordSize
            record.copyMemory(from: scratchVector, byteCount: dimension * 4)
            (record + linksOffset).storeBytes(of: UInt32(0), as: UInt32.self)
            (record + labelOffset).storeBytes(of: label, as: Int64.self)
            let level = randomLevel()
            v.levels[Int(id)] = Int32(level)
            v.deleted[Int(id)] = 0
            if level > 0 {
                let words = level * upperListSize
                let block = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
                block.initialize(repeating: 0, count: words)
                v.upper[Int(id)] = block
                upperBytes += words * 4
            } else {
                v.upper[Int(id)] = nil
            }
            labelToID[label] = id
            elementCount += 1
            newIDs.append(id)
        }
        insert(newIDs, parallel: parallel)
    }

    private func randomLevel() -> Int {
        let u = Double(rng.next() >> 11) * 0x1p-53  // [0, 1)
        return Int(-log(1 - u) * mult)
    }

    /// Flags `label` as removed: it keeps routing searches but is never returned.
    @discardableResult
    public func remove(label: Int64) -> Bool {
        guard let id = labelToID[label], !view.isDeleted(id) else { return false }
        view.deleted[Int(id)] = 1
        deletedCount += 1
        return true
    }

    /// A new index with the same parameters holding only the live elements (tombstones dropped), built in parallel.
    public func compacted() -> HNSWIndex {
        let fresh = HNSWIndex(dimension: dimension, parameters: parameters, capacity: max(count, 16))
        var labels: [Int64] = []
        labels.reserveCapacity(count)
        var flat: [Float] = []
        flat.reserveCapacity(count * dimension)
        forEachLive { label, vector in
            labels.append(label)
            flat.append(contentsOf: vector)
        }
        flat.withUnsafeBufferPointer { try! fresh.add(labels: labels, flatVectors: $0) }
        return fresh
    }

    // MARK: - Parallel insertion

    private func insert(_ ids: [UInt32], parallel: Bool) {
        guard !ids.isEmpty else { return }
        let threads = ProcessInfo.processInfo.activeProcessorCount
        var start = 0
        if entryPoint == nil {
            let scratch = takeScratch()
            insertElement(ids[0], scratch: scratch, locks: nil)
            giveBack(scratch)
            start = 1
        }
        let remaining = ids.count - start
        if !parallel || threads == 1 || remaining < 256 {
            let scratch = takeScratch()
            for i in start..<ids.count { insertElement(ids[i], scratch: scratch, locks: nil) }
            giveBack(scratch)
            return
        }
        let n = elementCount
        let locks = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: n)
        for i in 0..<n { pthread_mutex_init(locks + i, nil) }
        defer {
            for i in 0..<n { pthread_mutex_destroy(locks + i) }
            locks.deallocate()
        }
        let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        next.initialize(to: start)
        let counterLock = NSLock()
        defer { next.deallocate() }
        concurrentPerform(threads) { _ in
            let scratch = self.takeScratch()
            while true {
                counterLock.lock()
                let i = next.pointee
                next.pointee += 1
                counterLock.unlock()
                if i >= ids.count { break }
                self.insertElement(ids[i], scratch: scratch, locks: locks)
            }
            self.giveBack(scratch)
        }
    }

    /// Inserts element `c` (its vector, label and level already stored) into the graph, as hnswlib's addPoint.
    /// With `locks`, other threads insert concurrently.
    private func insertElement(_ c: UInt32, scratch: SearchScratch, locks: UnsafeMutablePointer<pthread_mutex_t>?) {
        let v = view
        let curLevel = Int(v.levels[Int(c)])
        if let locks { pthread_mutex_lock(locks + Int(c)) }
        defer { if let locks { pthread_mutex_unlock(locks + Int(c)) } }

        if locks != nil { pthread_mutex_lock(globalLock) }
        let maxLevelCopy = maxLevel
        let entry = entryPoint
        let holdGlobal = locks != nil && curLevel > maxLevelCopy
        if locks != nil && !holdGlobal { pthread_mutex_unlock(globalLock) }
        defer { if holdGlobal { pthread_mutex_unlock(globalLock) } }

        guard var cur = entry else {
            entryPoint = c
            maxLevel = curLevel
            return
        }
        scratch.prepare(elementCount: elementCount, dimension: dimension)
        let q = UnsafePointer(v.vector(c))
        if curLevel < maxLevelCopy {
            var curSim = glimpse_dot(q, v.vector(cur), dimension)
            for level in stride(from: maxLevelCopy, to: curLevel, by: -1) {
                var changed = true
                while changed {
                    changed = false
                    if let locks { pthread_mutex_lock(locks + Int(cur)) }
                    let ll = v.links(cur, level: level)
                    let n = Int(ll[0])
                    scratch.ids.update(from: ll + 1, count: n)
                    if let locks { pthread_mutex_unlock(locks + Int(cur)) }
                    glimpse_dot_gather(scratch.scores, q, v.base, v.recordSize, scratch.ids, n, dimension)
                    for j in 0..<n where scratch.scores[j] > curSim {
                        curSim = scratch.scores[j]
                        cur = scratch.ids[j]
                        changed = true
                    }
                }
            }
        }
        for level in stride(from: min(curLevel, maxLevelCopy), through: 0, by: -1) {
            searchLayerForInsert(q, entry: cur, level: level, scratch: scratch, v: v, locks: locks)
            cur = connect(c, level: level, scratch: scratch, v: v, locks: locks)
        }
        if curLevel > maxLevelCopy {
            entryPoint = c
            maxLevel = curLevel
        }
    }

    /// Build-time search of one layer (hnswlib's searchBaseLayer): the efConstruction nearest live elements to
    /// `q` end up in `scratch.results`. Link lists are read under their element's lock.
    private func searchLayerForInsert(_ q: UnsafePointer<Float>, entry: UInt32, level: Int, scratch: SearchScratch,
                                      v: GraphView, locks: UnsafeMutablePointer<pthread_mutex_t>?) {
        let ef = efConstruction
        let gen = scratch.nextGeneration()
        let tags = scratch.tags
        let ids = scratch.ids, scores = scratch.scores
        var candidates = scratch.candidates
        var results = scratch.results
        candidates.removeAll()
        results.removeAll()
        tags[Int(entry)] = gen
        let entrySim = glimpse_dot(q, v.vector(entry), dimension)
        var bound = -Float.infinity
        if !v.isDeleted(entry) {
            results.push(packKey(entrySim, entry))
            bound = entrySim
        }
        candidates.push(packKey(entrySim, entry))
        while !candidates.isEmpty {
            let top = candidates.top
            if scoreOf(key: top) < bound && results.count == ef { break }
            candidates.pop()
            let node = idOf(key: top)
            if let locks { pthread_mutex_lock(locks + Int(node)) }
            let ll = v.links(node, level: level)
            let n = Int(ll[0])
            var m = 0
            var j = 1
            while j <= n {
                let id = ll[j]
                if tags[Int(id)] != gen {
                    tags[Int(id)] = gen
                    ids[m] = id
                    m += 1
                }
                j += 1
            }
            if let locks { pthread_mutex_unlock(locks + Int(node)) }
            if m == 0 { continue }
            glimpse_dot_gather(scores, q, v.base, v.recordSize, ids, m, dimension)
            for j in 0..<m {
                let s = scores[j]
                if results.count < ef || s > bound {
                    let key = packKey(s, ids[j])
                    candidates.push(key)
                    if !v.isDeleted(ids[j]) {
                        if results.count < ef { results.push(key) } else { results.replaceTop(key) }
                    }
                    if !results.isEmpty { bound = scoreOf(key: results.top) }
                }
            }
        }
        scratch.candidates = candidates
        scratch.results = results
    }

    /// hnswlib's getNeighborsByHeuristic2: from candidates sorted best first, keep a candidate only if it is closer
    /// to the query than to every candidate already kept (spreads links in all directions); at most `m`.
    private func selectNeighbors(_ keys: UnsafeMutablePointer<UInt64>, count n: Int, m: Int,
                                 into out: UnsafeMutablePointer<UInt64>, v: GraphView) -> Int {
        if n < m {
            out.update(from: keys, count: n)
            return n
        }
        var chosen = 0
        for i in 0..<n {
            if chosen >= m { break }
            let key = keys[i]
            let s = scoreOf(key: key)
            let candidate = v.vector(idOf(key: key))
            var good = true
            for j in 0..<chosen where glimpse_dot(candidate, v.vector(idOf(key: out[j])), dimension) > s {
                good = false
                break
            }
            if good {
                out[chosen] = key
                chosen += 1
            }
        }
        return chosen
    }

    /// hnswlib's mutuallyConnectNewElement: links `c` to the best of `scratch.results` chosen by the heuristic
    /// and adds the reverse links, re-pruning a neighbour's full list with the same heuristic. Returns the closest
    /// neighbour, the entry point for the next layer down.
    private func connect(_ c: UInt32, level: Int, scratch: SearchScratch, v: GraphView,
                         locks: UnsafeMutablePointer<pthread_mutex_t>?) -> UInt32 {
        let keys = scratch.keyBuffer(capacity: scratch.results.count + maxM0 + 2)
        let n = scratch.results.drainDescending(into: keys)
        let selected = scratch.selected
        let chosen = selectNeighbors(keys, count: n, m: M, into: selected, v: v)
        // The element's own list (its lock is held by the caller).
        let own = v.links(c, level: level)
        own[0] = UInt32(chosen)
        for j in 0..<chosen { own[1 + j] = idOf(key: selected[j]) }

        let cap = level == 0 ? maxM0 : maxM
        let neighbourKeys = scratch.neighbourKeys
        let pruned = scratch.pruned
        for j in 0..<chosen {
            let other = idOf(key: selected[j])
            if let locks { pthread_mutex_lock(locks + Int(other)) }
            let ll = v.links(other, level: level)
            let sz = Int(ll[0])
            if sz < cap {
                ll[1 + sz] = c
                ll[0] = UInt32(sz + 1)
            } else {
                // Full: keep the best `cap` of its links plus c by the heuristic, seen from `other`.
                let o = UnsafePointer(v.vector(other))
                glimpse_dot_gather(scratch.scores, o, v.base, v.recordSize, ll + 1, sz, dimension)
                var count = 0
                func insertSorted(_ key: UInt64) {
                    var i = count
                    while i > 0 && neighbourKeys[i - 1] < key {
                        neighbourKeys[i] = neighbourKeys[i - 1]
                        i -= 1
                    }
                    neighbourKeys[i] = key
                    count += 1
                }
                insertSorted(packKey(scoreOf(key: selected[j]), c))
                for i in 0..<sz { insertSorted(packKey(scratch.scores[i], ll[1 + i])) }
                let kept = selectNeighbors(neighbourKeys, count: count, m: cap, into: pruned, v: v)
                ll[0] = UInt32(kept)
                for i in 0..<kept { ll[1 + i] = idOf(key: pruned[i]) }
            }
            if let locks { pthread_mutex_unlock(locks + Int(other)) }
        }
        return chosen > 0 ? idOf(key: selected[0]) : c
    }

    // MARK: - Search

    public func search(_ query: [Float], k: Int, minScore: Float? = nil) throws -> [SearchResult] {
        try search(query: query, k: k, ef: nil, minScore: minScore)
    }

    /// The k most similar live elements, best first; `ef` (default `self.ef`, at least k) trades speed for recall.
    public func search(query: [Float], k: Int, ef: Int? = nil, minScore: Float? = nil) throws -> [SearchResult] {
        try search(query: query, k: k, ef: ef, minScore: minScore, allowed: nil)
    }

    /// Search with a query that is already unit length (no copy, no checks).
    public func search(normalisedQuery q: UnsafePointer<Float>, k: Int, ef: Int? = nil, minScore: Float? = nil) -> [SearchResult] {
        guard k > 0, count > 0 else { return [] }
        let scratch = takeScratch()
        defer { giveBack(scratch) }
        scratch.prepare(elementCount: elementCount, dimension: dimension)
        return search(normalisedQuery: q, k: k, ef: ef ?? self.ef, minScore: minScore, scratch: scratch)
    }

    /// Filtered search: the k most similar live elements whose labels `allowed` accepts. Elements that are not
    /// accepted still route the traversal (the graph stays connected) but never enter the results, and the search
    /// goes on until it holds `ef` accepted ones, so a filter matching a fair share of the index still returns k.
    /// Very selective filters are better served by scoring the accepted vectors directly (`AutoIndex` decides).
    public func search(query: [Float], k: Int, ef: Int? = nil, minScore: Float? = nil, allowed: ((Int64) -> Bool)?) throws -> [SearchResult] {
        guard query.count == dimension else { throw IndexError.dimensionMismatch(expected: dimension, got: query.count) }
        guard k > 0, count > 0 else { return [] }
        let scratch = takeScratch()
        defer { giveBack(scratch) }
        scratch.prepare(elementCount: elementCount, dimension: dimension)
        try query.withUnsafeBufferPointer { try normalise($0, into: scratch.query, dimension: dimension) }
        guard let allowed else { return search(normalisedQuery: scratch.query, k: k, ef: ef ?? self.ef, minScore: minScore, scratch: scratch) }
        let v = view, offset = labelOffset
        return search(normalisedQuery: scratch.query, k: k, ef: ef ?? self.ef, minScore: minScore, scratch: scratch,
                      accepts: { allowed(v.label($0, offset: offset)) })
    }

    private func search(normalisedQuery q: UnsafePointer<Float>, k: Int, ef: Int, minScore: Float?,
                        scratch: SearchScratch, accepts: ((UInt32) -> Bool)? = nil) -> [SearchResult] {
        guard var cur = entryPoint else { return [] }
        let v = view
        var curSim = glimpse_dot(q, v.vector(cur), dimension)
        // Greedy descent through the upper layers (hnswlib's searchKnn).
        var level = maxLevel
        while level > 0 {
            var changed = true
            while changed {
                changed = false
                let ll = v.links(cur, level: level)
                let n = Int(ll[0])
                glimpse_dot_gather(scratch.scores, q, v.base, v.recordSize, ll + 1, n, dimension)
                for j in 0..<n where scratch.scores[j] > curSim {
                    curSim = scratch.scores[j]
                    cur = ll[1 + j]
                    changed = true
                }
            }
            level -= 1
        }
        let width = max(ef, k)
        searchLayer0(q, entry: cur, entrySim: curSim, ef: width, scratch: scratch, v: v, accepts: accepts)
        let keys = scratch.keyBuffer(capacity: scratch.results.count)
        let n = scratch.results.drainDescending(into: keys)
        var out: [SearchResult] = []
        out.reserveCapacity(min(k, n))
        for i in 0..<min(k, n) {
            let s = scoreOf(key: keys[i])
            if let minScore, s < minScore { break }
            out.append(SearchResult(label: v.label(idOf(key: keys[i]), offset: labelOffset), score: s))
        }
        return out
    }

    /// Query-time search of layer 0 (hnswlib's searchBaseLayerST): no locks; removed elements route but are kept
    /// out of the results. The best `ef` live elements end up in `scratch.results`.
    private func searchLayer0(_ q: UnsafePointer<Float>, entry: UInt32, entrySim: Float, ef: Int,
                              scratch: SearchScratch, v: GraphView, accepts: ((UInt32) -> Bool)? = nil) {
        // Removed elements, and those a filter rejects, route but stay out of the results.
        let hasDeleted = deletedCount > 0 || accepts != nil
        @inline(__always) func excluded(_ id: UInt32) -> Bool {
            (deletedCount > 0 && v.isDeleted(id)) || (accepts.map { !$0(id) } ?? false)
        }
        let gen = scratch.nextGeneration()
        let tags = scratch.tags
        let ids = scratch.ids, scores = scratch.scores
        let base = v.base, recordSize = v.recordSize, linksOffset = v.linksOffset, dim = dimension
        let linkBytes = 4 + maxM0 * 4
        var candidates = scratch.candidates
        var results = scratch.results
        candidates.removeAll()
        results.removeAll()
        tags[Int(entry)] = gen
        var bound = -Float.infinity
        if !hasDeleted || !excluded(entry) {
            results.push(packKey(entrySim, entry))
            bound = entrySim
        }
        candidates.push(packKey(entrySim, entry))
        while !candidates.isEmpty {
            let top = candidates.top
            if scoreOf(key: top) < bound && (results.count == ef || !hasDeleted) { break }
            candidates.pop()
            if !candidates.isEmpty {
                glimpse_prefetch(base + (Int(idOf(key: candidates.top)) &* recordSize &+ linksOffset), linkBytes)
            }
            // Ids come from the graph (each < elementCount), so the record offsets are inside the allocation and the
            // wrapping arithmetic here and below cannot wrap.
            let ll = (base + (Int(idOf(key: top)) &* recordSize &+ linksOffset)).assumingMemoryBound(to: UInt32.self)
            let n = Int(ll[0])
            var m = 0
            var j = 1
            while j <= n {
                let id = ll[j]
                if tags[Int(id)] != gen {
                    tags[Int(id)] = gen
                    ids[m] = id
                    m &+= 1
                }
                j &+= 1
            }
            if m == 0 { continue }
            glimpse_dot_gather(scores, q, base, recordSize, ids, m, dim)
            for j in 0..<m {
                let s = scores[j]
                if results.count < ef || s > bound {
                    let key = packKey(s, ids[j])
                    candidates.push(key)
                    if !hasDeleted || !excluded(ids[j]) {
                        if results.count < ef { results.push(key) } else { results.replaceTop(key) }
                    }
                    if !results.isEmpty { bound = scoreOf(key: results.top) }
                }
            }
        }
        scratch.candidates = candidates
        scratch.results = results
    }

    // MARK: - Scratch pool

    private func takeScratch() -> SearchScratch {
        scratchLock.lock()
        let s = scratchPool.popLast()
        scratchLock.unlock()
        return s ?? SearchScratch(maxM0: maxM0, efConstruction: efConstruction, dimension: dimension)
    }

    private func giveBack(_ s: SearchScratch) {
        scratchLock.lock()
        scratchPool.append(s)
        scratchLock.unlock()
    }

    // MARK: - Persistence support

    /// Raw access for the file format (HNSWIndex+Persistence.swift).
    var level0Base: UnsafeMutableRawPointer { level0.base }

    func restore(count n: Int, maxLevel: Int, entryPoint: UInt32?, deletedCount: Int, levelState: UInt64,
                 labels: [Int64: UInt32], upperBytes: Int) {
        elementCount = n
        self.maxLevel = maxLevel
        self.entryPoint = entryPoint
        self.deletedCount = deletedCount
        rng = SplitMix64(seed: levelState)
        labelToID = labels
        self.upperBytes = upperBytes
    }
}

/// The layout's pointers as plain values, so hot loops pay no class-property access.
struct GraphView {
    let base: UnsafeMutableRawPointer
    let recordSize: Int
    let linksOffset: Int
    let dim: Int
    let upper: UnsafeMutablePointer<UnsafeMutablePointer<UInt32>?>
    let upperListSize: Int
    let deleted: UnsafeMutablePointer<UInt8>
    let levels: UnsafeMutablePointer<Int32>

    // Wrapping offsets: ids are < the element count, so `id * recordSize` lies inside the allocation.
    @inline(__always) func vector(_ id: UInt32) -> UnsafeMutablePointer<Float> {
        (base + Int(id) &* recordSize).assumingMemoryBound(to: Float.self)
    }
    /// Link list of `id` at `level`: a count followed by the ids.
    @inline(__always) func links(_ id: UInt32, level: Int) -> UnsafeMutablePointer<UInt32> {
        if level == 0 { return (base + (Int(id) &* recordSize &+ linksOffset)).assumingMemoryBound(to: UInt32.self) }
        return upper[Int(id)].unsafelyUnwrapped + (level &- 1) &* upperListSize
    }
    @inline(__always) func isDeleted(_ id: UInt32) -> Bool { deleted[Int(id)] != 0 }
    @inline(__always) func label(_ id: UInt32, offset: Int) -> Int64 {
        (base + (Int(id) &* recordSize &+ offset)).load(as: Int64.self)
    }
}

/// One thread's search state: the visited list (tags with a generation counter, as hnswlib's VisitedList, so
/// clearing costs nothing), the two heaps and small buffers, all preallocated.
final class SearchScratch {
    private(set) var tags: UnsafeMutablePointer<UInt16>
    private var tagCapacity: Int
    private var generation: UInt16 = 0
    var candidates: KeyHeap
    var results: MinKeyHeap
    let ids: UnsafeMutablePointer<UInt32>
    let scores: UnsafeMutablePointer<Float>
    let selected: UnsafeMutablePointer<UInt64>
    let neighbourKeys: UnsafeMutablePointer<UInt64>
    let pruned: UnsafeMutablePointer<UInt64>
    private(set) var keys: UnsafeMutablePointer<UInt64>
    private var keyCapacity: Int
    private(set) var query: UnsafeMutablePointer<Float>
    private var queryCapacity: Int

    init(maxM0: Int, efConstruction: Int, dimension: Int) {
        tagCapacity = 0
        tags = .allocate(capacity: 1)
        candidates = KeyHeap(capacity: 4 * efConstruction)
        results = MinKeyHeap(capacity: efConstruction + 2)
        ids = .allocate(capacity: maxM0 + 2)
        scores = .allocate(capacity: maxM0 + 2)
        selected = .allocate(capacity: maxM0 + 2)
        neighbourKeys = .allocate(capacity: maxM0 + 2)
        pruned = .allocate(capacity: maxM0 + 2)
        keyCapacity = efConstruction + maxM0 + 2
        keys = .allocate(capacity: keyCapacity)
        queryCapacity = dimension
        query = .allocate(capacity: dimension)
    }

    func deallocate() {
        tags.deallocate()
        candidates.deallocate()
        results.deallocate()
        ids.deallocate()
        scores.deallocate()
        selected.deallocate()
        neighbourKeys.deallocate()
        pruned.deallocate()
        keys.deallocate()
        query.deallocate()
    }

    func prepare(elementCount: Int, dimension: Int) {
        if elementCount > tagCapacity {
            tags.deallocate()
            tagCapacity = max(elementCount, tagCapacity * 2, 1024)
            tags = .allocate(capacity: tagCapacity)
            tags.initialize(repeating: 0, count: tagCapacity)
            generation = 0
        }
        if dimension > queryCapacity {
            query.deallocate()
            query = .allocate(capacity: dimension)
            queryCapacity = dimension
        }
    }

    @inline(__always) func nextGeneration() -> UInt16 {
        generation &+= 1
        if generation == 0 {
            tags.update(repeating: 0, count: tagCapacity)
            generation = 1
        }
        return generation
    }

    func keyBuffer(capacity: Int) -> UnsafeMutablePointer<UInt64> {
        if capacity > keyCapacity {
            keys.deallocate()
            keyCapacity = capacity
            keys = .allocate(capacity: capacity)
        }
        return keys
    }
}
