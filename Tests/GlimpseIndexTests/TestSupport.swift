import Foundation
@testable import GlimpseIndex

/// Deterministic test data: SplitMix64 and Gaussian clusters of normalised vectors.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-12), u2 = uniform()
        return Float((-2 * log(u1)).squareRoot() * cos(2 * .pi * u2))
    }
    mutating func vector(_ d: Int) -> [Float] { unit((0..<d).map { _ in normal() }) }
}

func unit(_ v: [Float]) -> [Float] {
    let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return v.map { $0 / n }
}

/// `count` normalised vectors around `clusters` random centres (spread 0.35 per coordinate relative to unit centres).
func clusteredVectors(count: Int, dimension d: Int, clusters: Int, seed: UInt64) -> [[Float]] {
    var rng = TestRandom(seed: seed)
    let centres = (0..<clusters).map { _ in rng.vector(d) }
    let spread = Float(0.35) / Float(d).squareRoot() * 2
    return (0..<count).map { i in
        let c = centres[Int(rng.next() % UInt64(clusters))]
        _ = i
        return unit(c.map { $0 + spread * rng.normal() })
    }
}

/// Exact top-k by scalar Double arithmetic, independent of the index code (plain loops: fast in debug builds).
func bruteForce(_ base: [[Float]], labels: [Int64], query: [Float], k: Int) -> [(Int64, Double)] {
    let q = unit(query).map(Double.init)
    var top: [(Int64, Double)] = []
    func better(_ a: (Int64, Double), _ b: (Int64, Double)) -> Bool { a.1 != b.1 ? a.1 > b.1 : a.0 < b.0 }
    for i in 0..<base.count {
        let s = base[i].withUnsafeBufferPointer { v in
            q.withUnsafeBufferPointer { q in
                var s = 0.0
                for j in 0..<q.count { s += q[j] * Double(v[j]) }
                return s
            }
        }
        let item = (labels[i], s)
        if top.count == k, let last = top.last, !better(item, last) { continue }
        var at = top.count
        while at > 0 && better(item, top[at - 1]) { at -= 1 }
        top.insert(item, at: at)
        if top.count > k { top.removeLast() }
    }
    return top
}

func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "glimpse-index-tests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
