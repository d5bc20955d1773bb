import XCTest
@testable import GlimpseIndex

final class ExactIndexTests: XCTestCase {
    func testReturnsTrueTopK() throws {
        let base = clusteredVectors(count: 600, dimension: 40, clusters: 8, seed: 1)
        let labels = (0..<600).map { Int64($0 * 3 + 7) }
        let index = ExactIndex(dimension: 40)
        try index.add(labels: labels, vectors: base)
        XCTAssertEqual(index.count, 600)
        var rng = TestRandom(seed: 2)
        for _ in 0..<20 {
            let q = rng.vector(40)
            let got = try index.search(q, k: 10)
            let want = bruteForce(base, labels: labels, query: q, k: 10)
            XCTAssertEqual(got.map(\.label), want.map(\.0))
            for (g, w) in zip(got, want) { XCTAssertEqual(Double(g.score), w.1, accuracy: 1e-5) }
        }
    }

    func testParallelSearchMatchesSerial() throws {
        // Over parallelThreshold floats the rows are split across cores.
        let d = 16, n = 3001
        var rng = TestRandom(seed: 3)
        let index = ExactIndex(dimension: d)
        index.parallelThreshold = 1000
        let base = (0..<n).map { _ in rng.vector(d) }
        try index.add(labels: (0..<n).map(Int64.init), vectors: base)
        let q = rng.vector(d)
        let got = try index.search(q, k: 5)
        XCTAssertEqual(got.map(\.label), bruteForce(base, labels: (0..<n).map(Int64.init), query: q, k: 5).map(\.0))
    }

    func testMinScoreEmptyAndKBeyondCount() throws {
        let index = ExactIndex(dimension: 3)
        XCTAssertEqual(try index.search([1, 0, 0], k: 5), [])
        try index.add(label: 1, vector: [1, 0, 0])
        try index.add(label: 2, vector: [0, 2, 0])  // normalised on insert
        try index.add(label: 3, vector: [1, 1, 0])
        let all = try index.search([1, 0, 0], k: 10)
        XCTAssertEqual(all.map(\.label), [1, 3, 2])
        XCTAssertEqual(all[0].score, 1, accuracy: 1e-6)
        XCTAssertEqual(all[1].score, 0.70710678, accuracy: 1e-6)
        XCTAssertEqual(try index.search([1, 0, 0], k: 10, minScore: 0.5).map(\.label), [1, 3])
        XCTAssertEqual(try index.search([1, 0, 0], k: 0), [])
    }

    func testRemoveReplaceAndErrors() throws {
        let index = ExactIndex(dimension: 3)
        try index.add(labels: [1, 2, 3], vectors: [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
        XCTAssertTrue(index.remove(label: 1))
        XCTAssertFalse(index.remove(label: 1))
        XCTAssertFalse(index.contains(label: 1))
        XCTAssertEqual(try index.search([1, 0, 0], k: 3).map(\.label).sorted(), [2, 3])
        try index.add(label: 2, vector: [1, 0, 0])  // replace
        XCTAssertEqual(index.count, 2)
        XCTAssertEqual(try index.search([1, 0, 0], k: 1).first?.label, 2)
        XCTAssertThrowsError(try index.add(label: 9, vector: [1, 0])) { error in
            XCTAssertEqual(error as? IndexError, .dimensionMismatch(expected: 3, got: 2))
        }
        XCTAssertThrowsError(try index.add(label: 9, vector: [0, 0, 0]))
        XCTAssertThrowsError(try index.add(label: 9, vector: [.nan, 0, 0]))
        XCTAssertThrowsError(try index.search([1, 0], k: 1))
        XCTAssertEqual(index.count, 2)
    }

    func testBatchSearchMatchesSingleQueries() throws {
        let base = clusteredVectors(count: 700, dimension: 24, clusters: 5, seed: 4)
        let index = ExactIndex(dimension: 24)
        try index.add(labels: (0..<700).map(Int64.init), vectors: base)
        var rng = TestRandom(seed: 5)
        let queries = (0..<30).map { _ in rng.vector(24) }
        let batch = try index.search(batch: queries, k: 7)
        for (q, b) in zip(queries, batch) {
            let single = try index.search(q, k: 7)
            XCTAssertEqual(b.map(\.label), single.map(\.label))
        }
    }

    func testPersistenceRoundTrip() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = clusteredVectors(count: 300, dimension: 16, clusters: 4, seed: 6)
        let index = ExactIndex(dimension: 16)
        try index.add(labels: (0..<300).map { Int64($0) - 150 }, vectors: base)
        index.remove(label: 0)
        let path = dir + "/exact.idx"
        try index.save(to: path, generation: 42)
        let loaded = try ExactIndex.load(from: path, expectedGeneration: 42)
        XCTAssertEqual(loaded.count, 299)
        XCTAssertEqual(loaded.labels, index.labels)
        var rng = TestRandom(seed: 7)
        for _ in 0..<10 {
            let q = rng.vector(16)
            XCTAssertEqual(try loaded.search(q, k: 10), try index.search(q, k: 10))
        }
        XCTAssertThrowsError(try ExactIndex.load(from: path, expectedGeneration: 43)) { error in
            XCTAssertEqual(error as? IndexFileError, .stale(path: path, found: 42, expected: 43))
        }
        XCTAssertThrowsError(try HNSWIndex.load(from: path)) { error in
            XCTAssertEqual(error as? IndexFileError, .wrongKind(path: path, found: 1, expected: 2))
        }
        let empty = ExactIndex(dimension: 5)
        try empty.save(to: dir + "/empty.idx", generation: 0)
        XCTAssertEqual(try ExactIndex.load(from: dir + "/empty.idx").count, 0)
    }
}
