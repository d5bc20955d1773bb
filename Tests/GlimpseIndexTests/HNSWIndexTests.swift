import CGlimpseKernels
import XCTest
@testable import GlimpseIndex

final class HNSWIndexTests: XCTestCase {
    static let d = 32

    func recall(_ index: HNSWIndex, base: [[Float]], labels: [Int64], queries: [[Float]], ef: Int) throws -> Double {
        var hits = 0
        for q in queries {
            let want = Set(bruteForce(base, labels: labels, query: q, k: 10).map(\.0))
            hits += try index.search(query: q, k: 10, ef: ef).filter { want.contains($0.label) }.count
        }
        return Double(hits) / Double(queries.count * 10)
    }

    func testRecallOnClusteredVectors() throws {
        let base = clusteredVectors(count: 3000, dimension: Self.d, clusters: 40, seed: 11)
        let labels = (0..<3000).map { Int64($0) }
        let index = HNSWIndex(dimension: Self.d, parameters: .init(M: 12, efConstruction: 100))
        try index.add(labels: labels, vectors: base)  // parallel build
        XCTAssertEqual(index.count, 3000)
        XCTAssertEqual(index.maxM0, 24)
        XCTAssertGreaterThanOrEqual(index.maxLevel, 1)
        let queries = clusteredVectors(count: 100, dimension: Self.d, clusters: 40, seed: 11 &+ 1000)
        let r = try recall(index, base: base, labels: labels, queries: queries, ef: 64)
        XCTAssertGreaterThanOrEqual(r, 0.95, "recall@10 = \(r)")
        // Scores are inner products, best first.
        let hits = try index.search(query: queries[0], k: 10, ef: 64)
        XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >))
        let exact = bruteForce(base, labels: labels, query: queries[0], k: 1)[0]
        XCTAssertEqual(Double(hits[0].score), exact.1, accuracy: 1e-5)
    }

    func testSeededSerialBuildsRepeat() throws {
        let base = clusteredVectors(count: 500, dimension: 16, clusters: 5, seed: 12)
        let flat = base.flatMap { $0 }
        func build() throws -> HNSWIndex {
            let index = HNSWIndex(dimension: 16, parameters: .init(M: 8, efConstruction: 40, seed: 9))
            try flat.withUnsafeBufferPointer { try index.add(labels: (0..<500).map(Int64.init), flatVectors: $0, parallel: false) }
            return index
        }
        let a = try build(), b = try build()
        XCTAssertEqual(a.maxLevel, b.maxLevel)
        XCTAssertEqual(a.entryPoint, b.entryPoint)
        var rng = TestRandom(seed: 13)
        for _ in 0..<10 {
            let q = rng.vector(16)
            XCTAssertEqual(try a.search(query: q, k: 10, ef: 20), try b.search(query: q, k: 10, ef: 20))
        }
        for id in 0..<500 {
            let la = a.view.links(UInt32(id), level: 0), lb = b.view.links(UInt32(id), level: 0)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: la, count: Int(la[0]) + 1)),
                           Array(UnsafeBufferPointer(start: lb, count: Int(lb[0]) + 1)))
        }
    }

    func testRemoveReviveAndReplace() throws {
        let base = clusteredVectors(count: 400, dimension: 16, clusters: 4, seed: 14)
        let index = HNSWIndex(dimension: 16, parameters: .init(M: 8, efConstruction: 50, ef: 50))
        try index.add(labels: (0..<400).map(Int64.init), vectors: base)
        let q = base[17]
        XCTAssertEqual(try index.search(q, k: 1).first?.label, 17)
        XCTAssertTrue(index.remove(label: 17))
        XCTAssertFalse(index.remove(label: 17))
        XCTAssertFalse(index.contains(label: 17))
        XCTAssertEqual(index.count, 399)
        XCTAssertEqual(index.deletedCount, 1)
        let after = try index.search(q, k: 20)
        XCTAssertFalse(after.contains { $0.label == 17 })
        XCTAssertEqual(after.count, 20)
        // Same vector again: the element is revived, no new element.
        try index.add(label: 17, vector: base[17])
        XCTAssertEqual(index.elementCount, 400)
        XCTAssertEqual(index.count, 400)
        XCTAssertEqual(try index.search(q, k: 1).first?.label, 17)
        // Another vector: the old element becomes a tombstone, the label moves.
        try index.add(label: 17, vector: base[300])
        XCTAssertEqual(index.elementCount, 401)
        XCTAssertEqual(index.count, 400)
        let near300 = try index.search(base[300], k: 2).map(\.label)
        XCTAssertEqual(Set(near300), [17, 300])
        XCTAssertFalse(try index.search(q, k: 1).contains { $0.label == 17 && $0.score > 0.9999 })
        // Removing almost everything: search still returns only live labels.
        for label in 0..<400 where label != 5 { index.remove(label: Int64(label)) }
        XCTAssertEqual(try index.search(base[5], k: 10).map(\.label), [5])
        let compact = index.compacted()
        XCTAssertEqual(compact.elementCount, 1)
        XCTAssertEqual(try compact.search(base[5], k: 10).map(\.label), [5])
    }

    func testConcurrentSearchesMatchSerialOnes() throws {
        let base = clusteredVectors(count: 800, dimension: 16, clusters: 8, seed: 19)
        let index = HNSWIndex(dimension: 16, parameters: .init(M: 8, efConstruction: 40))
        try index.add(labels: (0..<800).map(Int64.init), vectors: base)
        var rng = TestRandom(seed: 20)
        let queries = (0..<64).map { _ in rng.vector(16) }
        let serial = try queries.map { try index.search(query: $0, k: 5, ef: 30) }
        let results = UnsafeMutableBufferPointer<[SearchResult]>.allocate(capacity: queries.count)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        let shared = UncheckedBox(results)
        DispatchQueue.concurrentPerform(iterations: queries.count) { i in
            shared.value[i] = try! index.search(query: queries[i], k: 5, ef: 30)
        }
        XCTAssertEqual(Array(results), serial)
    }

    func testEmptyAndSmallIndexes() throws {
        let index = HNSWIndex(dimension: 4)
        XCTAssertEqual(try index.search([1, 0, 0, 0], k: 10), [])
        XCTAssertNil(index.entryPoint)
        try index.add(label: 7, vector: [1, 0, 0, 0])
        XCTAssertEqual(try index.search([0, 1, 0, 0], k: 10).map(\.label), [7])
        try index.add(labels: [8, 9], vectors: [[0, 1, 0, 0], [0, 0, 1, 0]])
        XCTAssertEqual(try index.search([0, 1, 0, 0], k: 10).map(\.label).first, 8)
        XCTAssertEqual(try index.search([0, 1, 0, 0], k: 10).count, 3)
        XCTAssertEqual(try index.search([0, 1, 0, 0], k: 10, minScore: 0.5).map(\.label), [8])
        XCTAssertThrowsError(try index.add(labels: [10, 11], vectors: [[1, 0, 0, 0], [1, 0]]))
        XCTAssertEqual(index.count, 3, "a bad batch changes nothing")
        XCTAssertThrowsError(try index.search([1, 0, 0], k: 1))
    }

    func testPersistenceRoundTripGivesIdenticalResults() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = clusteredVectors(count: 1200, dimension: 24, clusters: 12, seed: 15)
        let index = HNSWIndex(dimension: 24, parameters: .init(M: 10, efConstruction: 60, ef: 40))
        try index.add(labels: (0..<1200).map { Int64($0) * 11 }, vectors: base)
        index.remove(label: 33)
        try index.add(label: 44, vector: base[0])  // tombstone + new element
        let path = dir + "/graph.idx"
        try index.save(to: path, generation: 0xFEED)
        XCTAssertEqual(try IndexFileHeader.read(from: path).generation, 0xFEED)
        let loaded = try HNSWIndex.load(from: path, expectedGeneration: 0xFEED, expectedDimension: 24)
        XCTAssertEqual(loaded.count, index.count)
        XCTAssertEqual(loaded.elementCount, index.elementCount)
        XCTAssertEqual(loaded.deletedCount, index.deletedCount)
        XCTAssertEqual(loaded.maxLevel, index.maxLevel)
        XCTAssertEqual(loaded.entryPoint, index.entryPoint)
        XCTAssertEqual(loaded.ef, 40)
        XCTAssertFalse(loaded.contains(label: 33))
        var rng = TestRandom(seed: 16)
        for _ in 0..<25 {
            let q = rng.vector(24)
            XCTAssertEqual(try loaded.search(query: q, k: 10, ef: 30), try index.search(query: q, k: 10, ef: 30))
        }
        // Both continue identically (the level generator's state is saved too).
        let extra = clusteredVectors(count: 50, dimension: 24, clusters: 3, seed: 17)
        let flat = extra.flatMap { $0 }
        try flat.withUnsafeBufferPointer {
            try index.add(labels: (5000..<5050).map(Int64.init), flatVectors: $0, parallel: false)
            try loaded.add(labels: (5000..<5050).map(Int64.init), flatVectors: $0, parallel: false)
        }
        XCTAssertEqual(try loaded.search(query: extra[3], k: 10), try index.search(query: extra[3], k: 10))
        // No temporary files left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["graph.idx"])
    }

    func testDamagedFilesThrowClearErrors() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = clusteredVectors(count: 300, dimension: 8, clusters: 3, seed: 18)
        let index = HNSWIndex(dimension: 8, parameters: .init(M: 6, efConstruction: 30))
        try index.add(labels: (0..<300).map(Int64.init), vectors: base)
        let path = dir + "/good.idx"
        try index.save(to: path, generation: 1)
        let good = try Data(contentsOf: URL(fileURLWithPath: path))

        func variant(_ name: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
            var bytes = [UInt8](good)
            edit(&bytes)
            let p = dir + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            return p
        }
        func expect(_ p: String, _ check: (IndexFileError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try HNSWIndex.load(from: p), file: file, line: line) { error in
                guard let e = error as? IndexFileError else { return XCTFail("\(error)", file: file, line: line) }
                XCTAssertTrue(check(e), "\(e)", file: file, line: line)
                XCTAssertEqual(e.path, p, file: file, line: line)
            }
            XCTAssertThrowsError(try AutoIndex.load(from: p), file: file, line: line)
        }

        expect(dir + "/missing.idx") { if case .cannotOpen = $0 { true } else { false } }
        expect(try variant("empty.idx") { $0 = [] }) { if case .truncated = $0 { true } else { false } }
        expect(try variant("magic.idx") { $0[0] = UInt8(ascii: "X") }) { $0 == .badMagic(path: dir + "/magic.idx") }
        expect(try variant("text.idx") { $0 = Array("hello, this is not an index at all".utf8) }) { if case .badMagic = $0 { true } else { false } }
        expect(try variant("version.idx") { $0[8] = 9 }) { if case .unsupportedVersion(_, 9, 2) = $0 { true } else { false } }
        expect(try variant("header.idx") { $0[20] ^= 0x01 }) { $0 == .checksumMismatch(path: dir + "/header.idx", section: "header") }
        expect(try variant("flipped.idx") { $0[$0.count / 2] ^= 0x40 }) { if case .checksumMismatch = $0 { true } else { false } }
        expect(try variant("truncated.idx") { $0.removeLast(100) }) { if case .truncated = $0 { true } else { false } }
        expect(try variant("half.idx") { $0.removeLast($0.count / 2) }) { if case .truncated = $0 { true } else { false } }
        expect(try variant("headeronly.idx") { $0.removeLast($0.count - IndexFileHeader.size) }) { if case .truncated = $0 { true } else { false } }
        expect(try variant("trailing.idx") { $0.append(contentsOf: [1, 2, 3]) }) { if case .corrupt = $0 { true } else { false } }

        // A link to a missing element with valid checksums: caught by the structure check, not by a crash.
        expect(try variant("badlink.idx") { bytes in
            let body = IndexFileHeader.size + 24
            let linkAt = body + index.linksOffset  // element 0's link count, then its links
            bytes.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt32(1), toByteOffset: linkAt, as: UInt32.self)
                raw.storeBytes(of: UInt32(999_999), toByteOffset: linkAt + 4, as: UInt32.self)
                let length = 300 * index.recordSize
                let sum = glimpse_checksum64(raw.baseAddress! + body, length, UInt64(SectionTag.level0.rawValue))
                raw.storeBytes(of: sum, toByteOffset: body - 8, as: UInt64.self)
            }
        }) { if case let .corrupt(_, reason) = $0 { reason.contains("links to 999999") } else { false } }

        // The good file still loads.
        XCTAssertEqual(try HNSWIndex.load(from: path).count, 300)
    }
}
