import Foundation
import GlimpseStore
import XCTest
@testable import GlimpseEngine

/// Every conformance check (`StoreConformance`) as a test; each store's subclass says how to open its store.
class StoreConformanceTestCase: XCTestCase, @unchecked Sendable {
    var root = ""

    override func setUp() { root = NSTemporaryDirectory() + "glimpse-store-\(UUID().uuidString)" }
    override func tearDown() async throws { try? FileManager.default.removeItem(atPath: root) }

    /// Opens a new store of this kind (each call: a new, empty one) — overridden by each store's tests.
    func makeOpener() throws -> @Sendable () async throws -> any ImageStore {
        throw XCTSkip("the abstract conformance suite runs through a store's subclass")
    }

    func suite() async throws -> StoreConformance { try await StoreConformance(open: makeOpener(), root: root) }

    func testIndexThenSearchByImageAndText() async throws { try await suite().indexThenSearchByImageAndText() }
    func testReindexWithNothingChangedEmbedsNothing() async throws { try await suite().reindexWithNothingChangedEmbedsNothing() }
    func testRenameIsDetectedAsMove() async throws { try await suite().renameIsDetectedAsMove() }
    func testDeletedFileLeavesStoreAndResults() async throws { try await suite().deletedFileLeavesStoreAndResults() }
    func testChangedFileIsReembedded() async throws { try await suite().changedFileIsReembedded() }
    func testCorruptAndOversizeImagesAreListed() async throws { try await suite().corruptAndOversizeImagesAreListedAndTheRunContinues() }
    func testSymlinkLoopAndBrokenLinkDoNotStopTheScan() async throws { try await suite().symlinkLoopAndBrokenLinkDoNotStopTheScan() }
    func testRecordsDisplayedSizeOnTheFastPath() async throws { try await suite().recordsDisplayedSizeOnTheFastPath() }
    func testStoreRemembersItsModel() async throws { try await suite().storeRemembersItsModel() }
    func testStoreRecordsItsVectorPrecisions() async throws { try await suite().storeRecordsItsVectorPrecisions() }
    func testShardWorkersTogetherGiveExactlyTheUnion() async throws { try await suite().shardWorkersTogetherGiveExactlyTheUnion() }
    func testOverlappingWorkersNeverDoubleInsert() async throws { try await suite().overlappingWorkersNeverDoubleInsert() }
    func testWritesThroughOneConnectionAreSeenByAnother() async throws { try await suite().writesThroughOneConnectionAreSeenByAnother() }
    func testCaptionsAreIncrementalAndFollowTheirImages() async throws { try await suite().captionsAreIncrementalAndFollowTheirImages() }
    func testEverySearchPathFindsCaptionedImages() async throws { try await suite().everySearchPathFindsCaptionedImages() }
    func testMetadataAndSourceFieldsRoundTrip() async throws { try await suite().metadataAndSourceFieldsRoundTrip() }
    func testFolderImagesCarryTheirFileFacts() async throws { try await suite().folderImagesCarryTheirFileFacts() }
    func testEveryFilterOperatorMatchesTheReference() async throws { try await suite().everyFilterOperatorMatchesTheReference() }
    func testEveryImageCopiesIntoAnotherStore() async throws {
        let suite = try await suite()
        try await suite.everyImageCopiesIntoAnotherStore(try await makeOpener()())
    }
}

/// The conformance checks against the embedded store: a library folder.
final class EmbeddedStoreConformanceTests: StoreConformanceTestCase, @unchecked Sendable {
    override func makeOpener() throws -> @Sendable () async throws -> any ImageStore {
        let directory = root + "/library-\(UUID().uuidString)"
        return { try EmbeddedStore(directory: directory) }
    }

    // (Linux test discovery runs the inherited tests only of a class that declares a test of its own.)

    /// A search of a library that has no model yet found nothing, instead of failing on the index's dimension
    /// (the server answered 500 for a search of a new, empty library).
    func testSearchingALibraryWithoutAModelFindsNothing() async throws {
        let store = try EmbeddedStore(directory: root + "/empty")
        let found = try await store.nearest(to: [Float](repeating: 0.25, count: 16), k: 5, minScore: nil, ef: nil)
        XCTAssertEqual(found, [])
        try await store.bindModel(name: "m", fingerprint: "f", dimension: 16)
        let again = try await store.nearest(to: [Float](repeating: 0.25, count: 16), k: 5, minScore: nil, ef: nil)
        XCTAssertEqual(again, [])
    }
}

/// The same checks against PostgreSQL + pgvector, each store in a schema of its own, dropped afterwards (skipped,
/// saying why, when no server is configured).
final class PostgresStoreConformanceTests: StoreConformanceTestCase, @unchecked Sendable {
    private let opened = OpenedStores<PostgresStore>()

    override func tearDown() async throws {
        try await opened.destroyAll()
        try await super.tearDown()
    }

    override func makeOpener() throws -> @Sendable () async throws -> any ImageStore {
        let url = try TestPostgres.freshSchemaURL()
        let opened = self.opened
        return { try await opened.open(url) }
    }

    /// Half-precision index (`vector=halfvec`): same results on the tiny collection.
    func testHalfPrecisionIndexFindsEachImage() async throws {
        let url = try TestPostgres.freshSchemaURL() + "&vector=halfvec"
        let opened = self.opened
        let suite = try await StoreConformance(open: { try await opened.open(url) }, root: root)
        _ = try await suite.index()
        XCTAssertEqual(suite.store.indexKind, "pgvector-hnsw-halfvec")
        for name in suite.photos {
            let hits = try await suite.searcher.search(imagePath: suite.path(name), limit: 1, ef: 64)
            XCTAssertEqual(hits.first?.path, suite.path(name), name)
        }
    }

    func testMigrationsAreRecordedAndRunOnce() async throws {
        let url = try TestPostgres.freshSchemaURL()
        async let a = opened.open(url)
        async let b = opened.open(url)
        let (first, second) = try await (a, b)
        let applied = try await first.appliedMigrations()
        XCTAssertEqual(applied, ["v1: images, thumbnails, roots and settings", "v2: captions", "v3: list sources and metadata"])
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

/// The stores a test opened on a database server: closed, and their data (a PostgreSQL schema, Milvus collections)
/// dropped, when it ends.
final class OpenedStores<Store: ImageStore>: @unchecked Sendable {
    private let lock = NSLock()
    private var stores: [Store] = []
    private let connect: @Sendable (String) async throws -> Store
    /// What names a store's data (stores opened on the same data are dropped once).
    private let dataName: @Sendable (Store) -> String
    private let destroy: @Sendable (Store) async throws -> Void

    init(connect: @escaping @Sendable (String) async throws -> Store, dataName: @escaping @Sendable (Store) -> String,
         destroy: @escaping @Sendable (Store) async throws -> Void) {
        self.connect = connect; self.dataName = dataName; self.destroy = destroy
    }

    func open(_ url: String) async throws -> Store {
        let store = try await connect(url)
        lock.withLock { stores.append(store) }
        return store
    }

    func destroyAll() async throws {
        let all = lock.withLock { stores }
        var dropped = Set<String>()
        for store in all {
            if dropped.insert(dataName(store)).inserted { try await destroy(store) }
            await store.close()
        }
    }
}

extension OpenedStores where Store == PostgresStore {
    convenience init() {
        self.init(connect: { try await PostgresStore.open(try PostgresURL($0)) }, dataName: { $0.url.schema }, destroy: { try await $0.destroy() })
    }
}

extension OpenedStores where Store == MilvusStore {
    convenience init() {
        self.init(connect: { try await MilvusStore.open(try MilvusURL($0)) }, dataName: { $0.url.collection }, destroy: { try await $0.destroy() })
    }
}

/// The same checks against Milvus (milvus-lite in CI: scripts/milvus.sh), each store in collections of its own,
/// dropped afterwards (skipped, saying why, when no server is configured).
final class MilvusStoreConformanceTests: StoreConformanceTestCase, @unchecked Sendable {
    private let opened = OpenedStores<MilvusStore>()

    override func tearDown() async throws {
        try await opened.destroyAll()
        try await super.tearDown()
    }

    override func makeOpener() throws -> @Sendable () async throws -> any ImageStore {
        let url = try TestMilvus.freshCollectionURL()
        let opened = self.opened
        return { try await opened.open(url) }
    }

    /// Ids stay below 2^53 (exact in JSON and JavaScript), and two stores opened on one collection at once agree.
    func testIdsAreExactInJSONAndStoresOpenTogether() async throws {
        let url = try TestMilvus.freshCollectionURL()
        async let a = opened.open(url)
        async let b = opened.open(url)
        let (first, second) = try await (a, b)
        try await first.bindModel(name: "m", fingerprint: "f", dimension: 4)
        try await second.bindModel(name: "m", fingerprint: "f", dimension: 4)
        let records = (0..<50).map { i in
            ImageRecord(path: "/p/\(i).jpg", size: 1, mtimeNanoseconds: 1, contentHash: String(format: "%016x", i), width: 1, height: 1,
                        format: "jpeg", embedding: [Float(i), 1, 0, 0].normalised)
        }
        async let saveA = first.saveImages(records)
        async let saveB = second.saveImages(records)
        let (idsA, idsB) = try await (saveA, saveB)
        XCTAssertEqual(idsA, idsB, "the same paths get the same ids in both writers")
        XCTAssertTrue(idsA.allSatisfy { $0 > 0 && $0 < 1 << 53 })
        let count = try await first.imageCount()
        XCTAssertEqual(count, 50)
        XCTAssertEqual(first.indexKind, "milvus-hnsw")
    }

    func testUnreachableServerIsAClearError() async throws {
        do {
            _ = try await MilvusStore.open(try MilvusURL("milvus://root:secret@127.0.0.1:1/photos?timeout=2"))
            XCTFail("expected an error")
        } catch let error as StoreError {
            guard case .unavailable = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("127.0.0.1:1"), "\(error)")
            XCTAssertFalse("\(error)".contains("secret"), "the password must not be shown: \(error)")
        }
    }

    func testOpeningAMissingCollectionWithoutCreateSaysWhatToRun() async throws {
        let url = try TestMilvus.freshCollectionURL()
        do {
            _ = try await MilvusStore.open(try MilvusURL(url), create: false)
            XCTFail("expected an error")
        } catch let error as StoreError {
            XCTAssertTrue("\(error)".contains("glimpse index"), "\(error)")
        }
    }
}

private extension Array where Element == Float {
    var normalised: [Float] {
        let norm = reduce(0) { $0 + $1 * $1 }.squareRoot()
        return map { $0 / norm }
    }
}

/// Where the conformance checks find a Milvus server: `$GLIMPSE_TEST_MILVUS_URL` (`milvus://127.0.0.1:PORT`;
/// scripts/test.sh starts milvus-lite with scripts/milvus.sh). Each test gets collections of its own.
enum TestMilvus {
    static var url: String? { ProcessInfo.processInfo.environment["GLIMPSE_TEST_MILVUS_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    static func freshCollectionURL() throws -> String {
        guard let base = url else {
            throw XCTSkip("no Milvus for the conformance suite: set GLIMPSE_TEST_MILVUS_URL (scripts/milvus.sh start prints one)")
        }
        let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
        return trimmed + "/t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    }
}
