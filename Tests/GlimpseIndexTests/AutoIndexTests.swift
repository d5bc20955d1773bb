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

    func testOpenOrRebuild() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/library.idx"
        let base = clusteredVectors(count: 50, dimension: 8, clusters: 2, seed: 22)
        var rebuilds = 0
        func open(_ generation: UInt64) throws -> (AutoIndex, IndexFileError?) {
            try AutoIndex.openOrRebuild(path: path, dimension: 8, generation: generation) { index in
                rebuilds += 1
                try index.add(labels: (0..<50).map(Int64.init), vectors: base)
            }
        }
        let (first, why) = try open(1)
        if case .cannotOpen = why {} else { XCTFail("missing file should rebuild, got \(String(describing: why))") }
        XCTAssertEqual(first.count, 50)
        let (second, none) = try open(1)
        XCTAssertNil(none)
        XCTAssertEqual(second.count, 50)
        XCTAssertEqual(rebuilds, 1)
        let (_, stale) = try open(2)
        XCTAssertEqual(stale, .stale(path: path, found: 1, expected: 2))
        XCTAssertEqual(rebuilds, 2)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 3] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (third, corrupt) = try open(2)
        if case .checksumMismatch = corrupt {} else { XCTFail("corrupt file should rebuild, got \(String(describing: corrupt))") }
        XCTAssertEqual(third.count, 50)
        XCTAssertEqual(rebuilds, 3)
        XCTAssertThrowsError(try AutoIndex.load(from: path, expectedDimension: 9))
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
