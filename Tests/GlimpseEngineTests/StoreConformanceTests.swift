import Foundation
import GlimpseStore
import XCTest
@testable import GlimpseEngine

/// The conformance checks (`StoreConformance`) against the embedded store: a library folder.
final class EmbeddedStoreConformanceTests: XCTestCase {
    var root = ""

    override func setUp() { root = NSTemporaryDirectory() + "glimpse-engine-\(UUID().uuidString)" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func suite() async throws -> StoreConformance {
        let directory = root + "/library"
        return try await StoreConformance(open: { try EmbeddedStore(directory: directory) }, root: root)
    }

    func testIndexThenSearchByImageAndText() async throws { try await suite().indexThenSearchByImageAndText() }
    func testReindexWithNothingChangedEmbedsNothing() async throws { try await suite().reindexWithNothingChangedEmbedsNothing() }
    func testRenameIsDetectedAsMove() async throws { try await suite().renameIsDetectedAsMove() }
    func testDeletedFileLeavesStoreAndResults() async throws { try await suite().deletedFileLeavesStoreAndResults() }
    func testChangedFileIsReembedded() async throws { try await suite().changedFileIsReembedded() }
    func testCorruptAndOversizeImagesAreListed() async throws { try await suite().corruptAndOversizeImagesAreListedAndTheRunContinues() }
    func testSymlinkLoopAndBrokenLinkDoNotStopTheScan() async throws { try await suite().symlinkLoopAndBrokenLinkDoNotStopTheScan() }
    func testRecordsDisplayedSizeOnTheFastPath() async throws { try await suite().recordsDisplayedSizeOnTheFastPath() }
    func testStoreRemembersItsModel() async throws { try await suite().storeRemembersItsModel() }
    func testShardWorkersTogetherGiveExactlyTheUnion() async throws { try await suite().shardWorkersTogetherGiveExactlyTheUnion() }
    func testOverlappingWorkersNeverDoubleInsert() async throws { try await suite().overlappingWorkersNeverDoubleInsert() }
    func testWritesThroughOneConnectionAreSeenByAnother() async throws { try await suite().writesThroughOneConnectionAreSeenByAnother() }
    func testEveryImageCopiesIntoAnotherStore() async throws {
        try await suite().everyImageCopiesIntoAnotherStore(try EmbeddedStore(directory: root + "/copy"))
    }
}

/// The same checks against PostgreSQL + pgvector, each test in a schema of its own (skipped, saying why, when no
/// server is configured).
final class PostgresStoreConformanceTests: XCTestCase, @unchecked Sendable {
    var root = ""
    var stores: [PostgresStore] = []

    override func setUp() { root = NSTemporaryDirectory() + "glimpse-engine-pg-\(UUID().uuidString)" }

    override func tearDown() async throws {
        if let first = stores.first { try await first.destroy() }
        for store in stores { await store.close() }
        try? FileManager.default.removeItem(atPath: root)
    }

    func open(_ url: String) async throws -> PostgresStore {
        let store = try await PostgresStore.open(try PostgresURL(url))
        stores.append(store)
        return store
    }

    func suite() async throws -> StoreConformance {
        let url = try TestPostgres.freshSchemaURL()
        return try await StoreConformance(open: { try await self.open(url) }, root: root)
    }

    func testIndexThenSearchByImageAndText() async throws { try await suite().indexThenSearchByImageAndText() }
    func testReindexWithNothingChangedEmbedsNothing() async throws { try await suite().reindexWithNothingChangedEmbedsNothing() }
    func testRenameIsDetectedAsMove() async throws { try await suite().renameIsDetectedAsMove() }
    func testDeletedFileLeavesStoreAndResults() async throws { try await suite().deletedFileLeavesStoreAndResults() }
    func testChangedFileIsReembedded() async throws { try await suite().changedFileIsReembedded() }
    func testCorruptAndOversizeImagesAreListed() async throws { try await suite().corruptAndOversizeImagesAreListedAndTheRunContinues() }
    func testSymlinkLoopAndBrokenLinkDoNotStopTheScan() async throws { try await suite().symlinkLoopAndBrokenLinkDoNotStopTheScan() }
    func testRecordsDisplayedSizeOnTheFastPath() async throws { try await suite().recordsDisplayedSizeOnTheFastPath() }
    func testStoreRemembersItsModel() async throws { try await suite().storeRemembersItsModel() }
    func testShardWorkersTogetherGiveExactlyTheUnion() async throws { try await suite().shardWorkersTogetherGiveExactlyTheUnion() }
    func testOverlappingWorkersNeverDoubleInsert() async throws { try await suite().overlappingWorkersNeverDoubleInsert() }
    func testWritesThroughOneConnectionAreSeenByAnother() async throws { try await suite().writesThroughOneConnectionAreSeenByAnother() }
    func testEveryImageCopiesIntoAnotherStore() async throws {
        let suite = try await suite()
        try await suite.everyImageCopiesIntoAnotherStore(try await open(try TestPostgres.freshSchemaURL()))
        // The copy's schema is dropped too.
        if let copy = stores.last { try await copy.destroy() }
    }

    /// Half-precision index (`vector=halfvec`): same results on the tiny collection.
    func testHalfPrecisionIndexFindsEachImage() async throws {
        let url = try TestPostgres.freshSchemaURL() + "&vector=halfvec"
        let suite = try await StoreConformance(open: { try await self.open(url) }, root: root)
        _ = try await suite.index()
        XCTAssertEqual(suite.store.indexKind, "pgvector-hnsw-halfvec")
        for name in suite.photos {
            let hits = try await suite.searcher.search(imagePath: suite.path(name), limit: 1, ef: 64)
            XCTAssertEqual(hits.first?.path, suite.path(name), name)
        }
    }

    func testMigrationsAreRecordedAndRunOnce() async throws {
        let url = try TestPostgres.freshSchemaURL()
        async let a = PostgresStore.open(try PostgresURL(url))
        async let b = PostgresStore.open(try PostgresURL(url))
        let (first, second) = try await (a, b)
        stores += [first, second]
        let applied = try await first.appliedMigrations()
        XCTAssertEqual(applied, ["v1: images, thumbnails, roots and settings"])
        let again = try await second.appliedMigrations()
        XCTAssertEqual(again, applied)
    }

    func testUnreachableServerIsAClearError() async throws {
        do {
            _ = try await PostgresStore.open(try PostgresURL("postgres://glimpse:secret@127.0.0.1:1/glimpse"))
            XCTFail("expected an error")
        } catch let error as StoreError {
            guard case .unavailable = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("127.0.0.1:1"), "\(error)")
            XCTAssertFalse("\(error)".contains("secret"), "the password must not be shown: \(error)")
        }
    }
}
