import XCTest
@testable import GlimpseIndex

final class AutoIndexTests: XCTestCase {
    func testSwitchesBetweenExactAndHNSW() throws {
        let base = clusteredVectors(count: 400, dimension: 16, clusters: 6, seed: 21)
        let index = AutoIndex(dimension: 16, configuration: .init(threshold: 300, hnsw: .init(M: 8, efConstruction: 60, ef: 60)))
        try index.add(labels: (0..<300).map(Int64.init), vectors: Array(base[0..<300]))
        XCTAssertEqual(index.kind, .exact)
        try index.add(label: 300, vector: base[300])
        XCTAssertEqual(index.kind, .hnsw)
        try index.add(labels: (301..<400).map(Int64.init), vectors: Array(base[301..<400]))
        XCTAssertEqual(index.count, 400)
        XCTAssertEqual(try index.search(base[123], k: 1).first?.label, 123)
        // Below threshold / 2 it goes back to exact search.
        for label in 0..<200 { index.remove(label: Int64(label)) }
        XCTAssertEqual(index.count, 200)
        XCTAssertEqual(index.kind, .hnsw, "still above threshold / 2")
        let graph = try XCTUnwrap(index.graph)
        XCTAssertLessThan(graph.elementCount, 400, "tombstones were compacted away")
        XCTAssertLessThanOrEqual(Double(graph.deletedCount), 0.25 * Double(graph.elementCount))
        XCTAssertEqual(try index.search(base[250], k: 1).first?.label, 250)
        for label in 200..<260 { index.remove(label: Int64(label)) }
        XCTAssertEqual(index.kind, .exact)
        XCTAssertEqual(index.count, 140)
        XCTAssertEqual(try index.search(base[350], k: 1).first?.label, 350)
        XCTAssertFalse(index.contains(label: 5))
        XCTAssertTrue(index.contains(label: 305))
    }

    func testLoadRefusesMissingStaleCorruptAndForeignFiles() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/library.idx"
        XCTAssertThrowsError(try AutoIndex.load(from: path)) { error in
            if case .cannotOpen = error as? IndexFileError {} else { XCTFail("missing file: \(error)") }
        }
        let base = clusteredVectors(count: 50, dimension: 8, clusters: 2, seed: 22)
        let index = AutoIndex(dimension: 8)
        try index.add(labels: (0..<50).map(Int64.init), vectors: base)
        let library = UUID()
        try index.save(to: path, origin: IndexOrigin(libraryID: library, generation: 1))
        XCTAssertEqual(try IndexFileHeader.read(from: path).origin, IndexOrigin(libraryID: library, generation: 1))
        XCTAssertEqual(try AutoIndex.load(from: path, expectedGeneration: 1).count, 50)
        XCTAssertThrowsError(try AutoIndex.load(from: path, expectedGeneration: 2)) { error in
            XCTAssertEqual(error as? IndexFileError, .stale(path: path, found: 1, expected: 2))
        }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try AutoIndex.load(from: path)) { error in
            if case .checksumMismatch = error as? IndexFileError {} else { XCTFail("corrupt file: \(error)") }
        }
        XCTAssertThrowsError(try AutoIndex.load(from: path, expectedDimension: 9))
    }

    /// Switching to HNSW (and compaction) builds the new graph without the lock searches take: a search started
    /// while the finished graph waits to replace the exact index answers at once.
    func testSearchesAnswerWhileTheGraphIsRebuilt() throws {
        let base = clusteredVectors(count: 300, dimension: 8, clusters: 3, seed: 29)
        let index = AutoIndex(dimension: 8, configuration: .init(threshold: 200, hnsw: .init(M: 8, efConstruction: 40)))
        try index.add(labels: (0..<150).map(Int64.init), vectors: Array(base[0..<150]))
        let answered = Flag()
        index.rebuildWillReplace = { [unowned index] in
            let done = DispatchSemaphore(value: 0)
            DispatchQueue.global().async {
                answered.value = (try? index.search(base[7], k: 1).first?.label) == 7
                done.signal()
            }
            if done.wait(timeout: .now() + 30) == .timedOut { answered.value = false }
        }
        try index.add(labels: (150..<300).map(Int64.init), vectors: Array(base[150..<300]))
        XCTAssertTrue(answered.value, "a search during the rebuild did not answer")
        XCTAssertEqual(index.kind, .hnsw)
        XCTAssertEqual(try index.search(base[250], k: 1).first?.label, 250)
    }

    func testSaveAndLoadBothKinds() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = clusteredVectors(count: 200, dimension: 12, clusters: 3, seed: 23)
        for threshold in [1000, 100] {
            let config = AutoIndex.Configuration(threshold: threshold, hnsw: .init(M: 8, efConstruction: 40))
            let index = AutoIndex(dimension: 12, configuration: config)
            try index.add(labels: (0..<200).map(Int64.init), vectors: base)
            let path = dir + "/\(threshold).idx"
            try index.save(to: path, generation: 5)
            let loaded = try AutoIndex.load(from: path, expectedGeneration: 5, configuration: config)
            XCTAssertEqual(loaded.kind, index.kind)
            XCTAssertEqual(try IndexFileHeader.read(from: path).kind, threshold == 100 ? .hnsw : .exact)
            for q in base.prefix(5) { XCTAssertEqual(try loaded.search(q, k: 5), try index.search(q, k: 5)) }
        }
    }

    func testNPYRoundTrip() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let m = NPY.Matrix(rows: 3, columns: 2, values: [1, 2, 3, 4, 5, -6.5])
        try NPY.writeFloat32Matrix(m, to: dir + "/m.npy")
        let back = try NPY.readFloat32Matrix(dir + "/m.npy")
        XCTAssertEqual(back.rows, 3)
        XCTAssertEqual(back.columns, 2)
        XCTAssertEqual(back.values, m.values)
        XCTAssertEqual(back.row(2), [5, -6.5])
    }
}


private final class Flag: @unchecked Sendable {
    var value = false
}
