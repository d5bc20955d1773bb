import Foundation
import XCTest
@testable import GlimpseIndex

/// Filtered search (a metadata filter's matches as the allowed labels): exact against brute force, and the
/// filtered HNSW traversal's recall against filtered exact search, at selectivities from 50% to 0.1%.
final class FilteredSearchTests: XCTestCase {
    func randomVectors(_ n: Int, dimension: Int, seed: UInt64) -> [[Float]] {
        var state = seed
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000
        }
        // Clustered, as embeddings are: 20 centres plus noise.
        let centres = (0..<20).map { _ in (0..<dimension).map { _ in next() } }
        return (0..<n).map { i in centres[i % 20].map { $0 + 0.6 * next() } }
    }

    func exactTop(_ query: [Float], _ vectors: [[Float]], allowed: Set<Int64>, k: Int) -> [Int64] {
        func cosine(_ a: [Float]) -> Float {
            zip(a, query).reduce(0) { $0 + $1.0 * $1.1 } / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * query.reduce(0) { $0 + $1 * $1 }.squareRoot())
        }
        return allowed.map { ($0, cosine(vectors[Int($0)])) }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(k).map(\.0)
    }

    func testFilteredSearchRecallAcrossSelectivities() throws {
        let n = 6000, dimension = 24, k = 10
        let vectors = randomVectors(n, dimension: dimension, seed: 42)
        let labels = (0..<n).map(Int64.init)
        let graph = HNSWIndex(dimension: dimension, parameters: .init(M: 16, efConstruction: 100, ef: 64))
        try graph.add(labels: labels, vectors: vectors)
        let auto = AutoIndex(dimension: dimension, configuration: .init(threshold: 1000))
        try auto.add(labels: labels, vectors: vectors)
        XCTAssertEqual(auto.kind, .hnsw)
        let exact = ExactIndex(dimension: dimension)
        try exact.add(labels: labels, vectors: vectors)
        let queries = randomVectors(30, dimension: dimension, seed: 7)

        for selectivity in [0.5, 0.1, 0.01, 0.001] {
            // A filter unrelated to the clusters: every label whose hash falls under the selectivity.
            let allowed = Set(labels.filter { Double(($0 &* 2654435761) % 10_000) < selectivity * 10_000 })
            var traversalHits = 0, autoHits = 0, total = 0
            for query in queries {
                let truth = exactTop(query, vectors, allowed: allowed, k: k)
                total += truth.count
                let traversed = try graph.search(query: query, k: k, ef: 64, allowed: { allowed.contains($0) })
                XCTAssertTrue(traversed.allSatisfy { allowed.contains($0.label) })
                traversalHits += Set(traversed.map(\.label)).intersection(truth).count
                let chosen = try auto.search(query, k: k, ef: 64, allowed: allowed)
                XCTAssertEqual(chosen.count, min(k, allowed.count), "a filter matching \(allowed.count) still returns k")
                autoHits += Set(chosen.map(\.label)).intersection(truth).count
                // Exact search with a filter is exact.
                XCTAssertEqual(try exact.search(query, k: k, allowed: allowed).map(\.label), truth)
            }
            let autoRecall = Double(autoHits) / Double(total)
            let traversalRecall = Double(traversalHits) / Double(total)
            print("selectivity \(selectivity): \(allowed.count) allowed, filtered HNSW traversal recall@10 \(traversalRecall), AutoIndex recall@10 \(autoRecall)")
            XCTAssertGreaterThanOrEqual(autoRecall, 0.95, "selectivity \(selectivity)")
            if selectivity >= 0.1 { XCTAssertGreaterThanOrEqual(traversalRecall, 0.95, "the traversal itself at \(selectivity)") }
        }
    }
}
