import Foundation
import GlimpseTensor

// Scores and ids packed into one UInt64 so that heaps compare single integers: the high 32 bits hold the
// score's bits mapped to an unsigned order (larger score, larger key), the low 32 bits the element id.

@inline(__always) func orderedBits(_ score: Float) -> UInt32 {
    let b = score.bitPattern
    return b & 0x8000_0000 != 0 ? ~b : b | 0x8000_0000
}

@inline(__always) func scoreOf(key: UInt64) -> Float {
    let o = UInt32(truncatingIfNeeded: key >> 32)
    return Float(bitPattern: o & 0x8000_0000 != 0 ? o & 0x7FFF_FFFF : ~o)
}

@inline(__always) func idOf(key: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: key) }

@inline(__always) func packKey(_ score: Float, _ id: UInt32) -> UInt64 { UInt64(orderedBits(score)) << 32 | UInt64(id) }

/// A binary max-heap of packed keys on a preallocated buffer that grows only when full (rare).
/// A min-heap is the same heap over complemented keys (`MinKeyHeap`).
struct KeyHeap {
    private(set) var storage: UnsafeMutablePointer<UInt64>
    private(set) var capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    func deallocate() { storage.deallocate() }

    @inline(__always) var isEmpty: Bool { count == 0 }
    @inline(__always) var top: UInt64 { storage[0] }
    @inline(__always) mutating func removeAll() { count = 0 }

    // Index arithmetic below is wrapping (`&+`, `&-`, `&*`): every index is in 0..<capacity, far from Int's
    // limits, and these loops are the innermost of every search; the module is compiled with checks on.
    @inline(__always) mutating func push(_ key: UInt64) {
        if count == capacity { grow() }
        var i = count
        count &+= 1
        while i > 0 {
            let parent = (i &- 1) >> 1
            let p = storage[parent]
            if p >= key { break }
            storage[i] = p
            i = parent
        }
        storage[i] = key
    }

    @inline(__always) @discardableResult mutating func pop() -> UInt64 {
        precondition(count > 0, "pop of an empty heap")
        let result = storage[0]
        count &-= 1
        if count > 0 { siftDown(storage[count]) }
        return result
    }

    /// Replaces the top with `key` (a pop followed by a push, in one sift).
    @inline(__always) mutating func replaceTop(_ key: UInt64) { siftDown(key) }

    @inline(__always) private mutating func siftDown(_ key: UInt64) {
        let n = count
        var i = 0
        while true {
            var child = 2 &* i &+ 1
            if child >= n { break }
            var c = storage[child]
            if child &+ 1 < n {
                let r = storage[child &+ 1]
                if r > c { c = r; child &+= 1 }
            }
            if key >= c { break }
            storage[i] = c
            i = child
        }
        storage[i] = key
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity * 2)
        bigger.update(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }
}

/// A min-heap of packed keys: the worst of the best results sits on top.
struct MinKeyHeap {
    var heap: KeyHeap
    init(capacity: Int) { heap = KeyHeap(capacity: capacity) }
    func deallocate() { heap.deallocate() }
    @inline(__always) var count: Int { heap.count }
    @inline(__always) var isEmpty: Bool { heap.count == 0 }
    @inline(__always) var top: UInt64 { ~heap.top }
    @inline(__always) mutating func push(_ key: UInt64) { heap.push(~key) }
    @inline(__always) @discardableResult mutating func pop() -> UInt64 { ~heap.pop() }
    @inline(__always) mutating func replaceTop(_ key: UInt64) { heap.replaceTop(~key) }
    @inline(__always) mutating func removeAll() { heap.removeAll() }
    /// The keys, best (largest) first; empties the heap.
    mutating func drainDescending(into out: UnsafeMutablePointer<UInt64>) -> Int {
        let n = heap.count
        var i = n
        while !isEmpty { i -= 1; out[i] = pop() }
        return n
    }
}

/// Keeps the k largest keys seen (k ≥ 1).
struct TopK {
    var heap: MinKeyHeap
    let k: Int
    init(k: Int) {
        self.k = k
        heap = MinKeyHeap(capacity: k + 1)
    }
    func deallocate() { heap.deallocate() }
    @inline(__always) mutating func offer(_ key: UInt64) {
        if heap.count < k { heap.push(key) } else if key > heap.top { heap.replaceTop(key) }
    }
    /// Lower bound a key must beat once the heap is full.
    @inline(__always) var isFull: Bool { heap.count >= k }
    @inline(__always) var worst: UInt64 { heap.top }
    mutating func sortedDescending() -> [UInt64] {
        var out = [UInt64](repeating: 0, count: heap.count)
        _ = out.withUnsafeMutableBufferPointer { heap.drainDescending(into: $0.baseAddress!) }
        return out
    }
}

/// SplitMix64: the seeded generator behind HNSW levels (its state is saved with the index, so builds repeat).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A readers-writer lock (pthread_rwlock) for AutoIndex.
final class ReadWriteLock: @unchecked Sendable {
    private let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
    init() { pthread_rwlock_init(lock, nil) }
    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }
    func read<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
    func write<T>(_ body: () throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// Runs `body(0..<n)` concurrently (DispatchQueue.concurrentPerform) with a closure the caller knows is safe to
/// share: each iteration touches disjoint data or synchronises itself.
func concurrentPerform(_ n: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        let work = UncheckedSendable(body)
        DispatchQueue.concurrentPerform(iterations: n) { work.value($0) }
    }
}
