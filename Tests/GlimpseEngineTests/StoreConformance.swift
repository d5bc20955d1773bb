import Foundation
import GlimpseImage
import GlimpseIndex
import GlimpseModels
import GlimpseStore
import XCTest
@testable import GlimpseEngine

/// The main job end to end with the tiny fixture model, the same checks against every store: index folders,
/// search them, keep up with changes, split a collection between shard workers. Each store's test class runs
/// every check (`EmbeddedStoreConformanceTests`, `PostgresStoreConformanceTests`).
final class StoreConformance: @unchecked Sendable {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static let embedder = try! Embedder(directory: fixtures + "/models/clip-tiny-f32", fastDecode: false)
    static let modelFingerprint = try! ModelFingerprint.of(directory: fixtures + "/models/clip-tiny-f32")
    let photos = ["astronaut_baseline.jpg", "coffee_progressive.jpg", "rocket_444.jpg", "chelsea_palette.png",
                  "coffee_lossy.webp", "camera_gray.jpg"]
    let root: String
    let folder: String
    /// Opens another connection to the same store (a second worker or server).
    let open: @Sendable () async throws -> any ImageStore
    let store: any ImageStore

    init(open: @escaping @Sendable () async throws -> any ImageStore, root: String) async throws {
        self.root = root
        folder = root + "/photos"
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        for (i, name) in photos.enumerated() {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/images/" + name, toPath: folder + (i % 2 == 0 ? "/" : "/sub/") + name)
        }
        self.open = open
        store = try await open()
        try await store.bindModel(name: "clip-tiny-f32", fingerprint: Self.modelFingerprint, dimension: Self.embedder.embeddingDim)
    }

    func index(into target: (any ImageStore)? = nil, maxPixels: Int = 100_000_000, shard: Shard? = nil) async throws -> IndexSummary {
        let embedder = try Embedder(directory: Self.fixtures + "/models/clip-tiny-f32", decoder: ImageDecoder(maxPixels: maxPixels), fastDecode: false)
        let destination: any ImageStore = target ?? store
        let indexer = Indexer(store: destination, embedder: embedder, batchSize: 4)
        indexer.shard = shard
        indexer.thumbnails = ThumbnailWriter()
        let summary = try await indexer.index(roots: [folder])
        try await destination.refresh()
        return summary
    }

    var searcher: Searcher { Searcher(store: store, embedder: Self.embedder) }

    func path(_ name: String) -> String {
        let top = folder + "/" + name
        return FileManager.default.fileExists(atPath: top) ? top : folder + "/sub/" + name
    }

    // MARK: Captions

    static let captionModel = try! ModelLoader.load(directory: fixtures + "/models/vit-gpt2-tiny")
    static let sentenceModel = try! ModelLoader.load(directory: fixtures + "/models/st-bert-mean-normalize")

    func captionIndexer() async throws -> CaptionIndexer {
        let captioner = try Captioner(model: Self.captionModel)
        captioner.settings.numBeams = 1   // greedy: the parity tests cover beam search
        let sentences = Self.sentenceModel.textEncoder!
        try await store.bindCaptionModels(CaptionBinding(
            captionModel: "vit-gpt2-tiny", sentenceModel: "st-bert-mean-normalize",
            sentenceFingerprint: try ModelFingerprint.of(directory: Self.sentenceModel.directory), dimension: sentences.textEmbeddingDimension))
        return CaptionIndexer(store: store, captioner: captioner, sentences: sentences, batchSize: 4)
    }

    func captionsAreIncrementalAndFollowTheirImages() async throws {
        _ = try await index()
        let first = try await captionIndexer().run()
        XCTAssertEqual(first.captioned, photos.count)
        XCTAssertEqual(first.failed, [])
        var count = try await store.captionCount()
        XCTAssertEqual(count, photos.count)
        let again = try await captionIndexer().run()
        XCTAssertEqual(again.captioned, 0, "a re-run captions only what is new or changed")

        // A move keeps the caption; a changed file gets a new one; a removed file takes its caption along.
        let moved = try await store.image(path: path("rocket_444.jpg"))!
        let movedCaption = try await store.captions(ids: [moved.id!])[moved.id!]
        XCTAssertNotNil(movedCaption)
        try FileManager.default.moveItem(atPath: path("rocket_444.jpg"), toPath: folder + "/sub/renamed-rocket.jpg")
        let changed = path("camera_gray.jpg")
        try FileManager.default.removeItem(atPath: changed)
        try FileManager.default.copyItem(atPath: Self.fixtures + "/images/moon_gray.png", toPath: changed)
        try FileManager.default.removeItem(atPath: path("coffee_lossy.webp"))
        let summary = try await index()
        XCTAssertEqual([summary.moved, summary.updated, summary.removed], [1, 1, 1])
        let pending = try await store.imagesNeedingCaptions()
        XCTAssertEqual(pending.map(\.path), [changed])
        count = try await store.captionCount()
        XCTAssertEqual(count, photos.count - 2, "the changed image's old caption no longer counts, the removed one's is gone")
        let afterMove = try await store.captions(ids: [moved.id!])[moved.id!]
        XCTAssertEqual(afterMove, movedCaption)
        let third = try await captionIndexer().run()
        XCTAssertEqual(third.captioned, 1)
        count = try await store.captionCount()
        XCTAssertEqual(count, photos.count - 1)

        // Another sentence encoder is refused: its vectors would not compare with the stored ones.
        do {
            try await store.bindCaptionModels(CaptionBinding(captionModel: "vit-gpt2-tiny", sentenceModel: "other",
                                                             sentenceFingerprint: "different", dimension: 32))
            XCTFail("a second sentence model was accepted")
        } catch let error as StoreError {
            guard case .captionModelMismatch = error else { return XCTFail("\(error)") }
        }
    }

    func everySearchPathFindsCaptionedImages() async throws {
        _ = try await index()
        _ = try await captionIndexer().run()
        let searcher = Searcher(store: store, embedder: Self.embedder, captionText: Self.sentenceModel.textEncoder)
        // Each image's own caption, as a caption-path query, finds that image first.
        let records = try await store.images(ids: try await store.fileStates().map(\.id))
        let captions = try await store.captions(ids: Array(records.keys))
        var distinct = 0
        for (id, caption) in captions where !caption.trimmingCharacters(in: .whitespaces).isEmpty && captions.values.filter({ $0 == caption }).count == 1 {
            let hits = try await searcher.search(text: caption, limit: 1, path: .caption)
            XCTAssertEqual(hits.first?.id, id, "caption \(caption)")
            XCTAssertEqual(hits.first?.caption, caption)
            XCTAssertEqual(Double(hits.first?.score ?? 0), 1, accuracy: 1e-4)
            distinct += 1
        }
        XCTAssertGreaterThan(distinct, 2)
        for path in SearchPath.allCases {
            let hits = try await searcher.search(text: "a rocket on a launch pad", limit: photos.count, path: path)
            XCTAssertEqual(Set(hits.map(\.id)).count, photos.count, "\(path) ranks every image")
            XCTAssertTrue(hits.allSatisfy { $0.caption != nil }, "\(path) results carry captions")
            let page = try await searcher.search(text: "a rocket on a launch pad", limit: 2, offset: 2, path: path)
            XCTAssertEqual(page.map(\.id), Array(hits[2..<4].map(\.id)), "\(path) pages")
        }
        // Without captions' sentence model, the caption paths are a clear error, not an empty result.
        do {
            _ = try await Searcher(store: store, embedder: Self.embedder).search(text: "rocket", limit: 1, path: .hybrid)
            XCTFail("hybrid ran without a sentence model")
        } catch let error as SearchError {
            guard case .noCaptions = error else { return XCTFail("\(error)") }
        }
    }

    func indexThenSearchByImageAndText() async throws {
        let summary = try await index()
        XCTAssertEqual(summary.added, photos.count)
        XCTAssertEqual(summary.failed, [])
        let imageCount = try await store.imageCount()
        XCTAssertEqual(imageCount, photos.count)
        for name in photos {
            let hits = try await searcher.search(imagePath: path(name), limit: 3)
            XCTAssertEqual(hits.first?.path, path(name), name)
            XCTAssertGreaterThanOrEqual(hits.first?.score ?? 0, 0.999, name)
        }
        let hits = try await searcher.search(text: "a cup of coffee", limit: 4)
        XCTAssertEqual(hits.count, 4)
        XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >))
        let record = try await store.image(path: path("rocket_444.jpg"))
        XCTAssertEqual(record?.format, "jpeg")
        XCTAssertGreaterThan(record?.width ?? 0, 0)
        let none = try await searcher.search(text: "x", limit: 10, minScore: 1.01)
        XCTAssertEqual(none, [])
        // Paging: the second page continues the first.
        let all = try await searcher.search(text: "a rocket", limit: photos.count)
        let second = try await searcher.search(vector: Self.embedder.embed(text: "a rocket"), limit: 2, offset: 2)
        XCTAssertEqual(second.map(\.id), Array(all.map(\.id)[2..<4]))
        // Thumbnails were made at index time and are kept by the store.
        let thumbnail = try await store.thumbnail(id: record?.id ?? 0)
        XCTAssertEqual(thumbnail?.prefix(2), Data([0xFF, 0xD8]))
        let roots = try await store.collectionRoots()
        XCTAssertEqual(roots, [folder])
    }

    func reindexWithNothingChangedEmbedsNothing() async throws {
        _ = try await index()
        let second = try await index()
        XCTAssertEqual(second.unchanged, photos.count)
        XCTAssertEqual([second.added, second.updated, second.moved, second.removed], [0, 0, 0, 0])
    }

    func renameIsDetectedAsMove() async throws {
        _ = try await index()
        let before = try await store.image(path: path("rocket_444.jpg"))!
        try FileManager.default.moveItem(atPath: path("rocket_444.jpg"), toPath: folder + "/sub/renamed-rocket.jpg")
        let summary = try await index()
        XCTAssertEqual(summary.moved, 1)
        XCTAssertEqual([summary.added, summary.removed], [0, 0])
        let after = try await store.image(path: folder + "/sub/renamed-rocket.jpg")
        XCTAssertEqual(after?.id, before.id)
        XCTAssertEqual(after?.embedding, before.embedding)
        let hits = try await searcher.search(imagePath: folder + "/sub/renamed-rocket.jpg", limit: 1)
        XCTAssertEqual(hits.first?.path, folder + "/sub/renamed-rocket.jpg")
    }

    func deletedFileLeavesStoreAndResults() async throws {
        _ = try await index()
        let gone = path("coffee_lossy.webp")
        let goneID = try await store.image(path: gone)?.id ?? -1
        try FileManager.default.removeItem(atPath: gone)
        let summary = try await index()
        XCTAssertEqual(summary.removed, 1)
        let count = try await store.imageCount()
        XCTAssertEqual(count, photos.count - 1)
        let hits = try await searcher.search(text: "coffee", limit: 100)
        XCTAssertEqual(hits.count, photos.count - 1)
        XCTAssertFalse(hits.contains { $0.path == gone })
        let thumbnail = try await store.thumbnail(id: goneID)
        XCTAssertNil(thumbnail, "a removed image's thumbnail goes with it")
    }

    func changedFileIsReembedded() async throws {
        _ = try await index()
        let target = path("camera_gray.jpg")
        let before = try await store.image(path: target)!
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: Self.fixtures + "/images/rocket_exif6.jpg", toPath: target)
        let summary = try await index()
        XCTAssertEqual(summary.updated, 1)
        let after = try await store.image(path: target)
        XCTAssertEqual(after?.id, before.id)
        XCTAssertNotEqual(after?.embedding, before.embedding)
        let hits = try await searcher.search(imagePath: Self.fixtures + "/images/rocket_exif6.jpg", limit: 1)
        XCTAssertEqual(hits.first?.path, target)
    }

    func corruptAndOversizeImagesAreListedAndTheRunContinues() async throws {
        for name in ["empty.png", "truncated.jpg", "notes.png"] {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/images/broken/" + name, toPath: folder + "/" + name)
        }
        // 512×512 astronaut is over a 200,000-pixel limit; the small images are not.
        let summary = try await index(maxPixels: 200_000)
        let failed = Dictionary(uniqueKeysWithValues: summary.failed.map { (($0.path as NSString).lastPathComponent, $0.error) })
        XCTAssertNotNil(failed["empty.png"])
        XCTAssertNotNil(failed["truncated.jpg"])
        XCTAssertNotNil(failed["notes.png"])
        XCTAssertTrue(failed["astronaut_baseline.jpg"]?.contains("too large") ?? false, "\(failed)")
        XCTAssertEqual(summary.added + summary.failed.count, photos.count + 3)
        XCTAssertGreaterThan(summary.added, 0)
        let count = try await store.imageCount()
        XCTAssertEqual(count, summary.added)
    }

    func symlinkLoopAndBrokenLinkDoNotStopTheScan() async throws {
        try FileManager.default.createSymbolicLink(atPath: folder + "/sub/loop", withDestinationPath: folder)
        try FileManager.default.createSymbolicLink(atPath: folder + "/broken.jpg", withDestinationPath: folder + "/nowhere.jpg")
        let summary = try await index()
        XCTAssertEqual(summary.added, photos.count)
        XCTAssertTrue(summary.failed.contains { $0.path.hasSuffix("broken.jpg") })
    }

    /// Shrink-on-load decoding still records the size a viewer shows.
    func recordsDisplayedSizeOnTheFastPath() async throws {
        try FileManager.default.copyItem(atPath: Self.fixtures + "/images/coffee_large.jpg", toPath: folder + "/large.jpg")
        try FileManager.default.copyItem(atPath: Self.fixtures + "/images/rocket_exif6.jpg", toPath: folder + "/rotated.jpg")
        let embedder = try Embedder(directory: Self.fixtures + "/models/clip-tiny-f32", fastDecode: true)
        _ = try await Indexer(store: store, embedder: embedder).index(roots: [folder])
        let large = try await store.image(path: folder + "/large.jpg")
        XCTAssertEqual([large?.width, large?.height], [3000, 2000])
        let rotated = try await store.image(path: folder + "/rotated.jpg")
        let upright = try ImageDecoder().decode(path: Self.fixtures + "/images/rocket_exif6.jpg")
        XCTAssertEqual([rotated?.width, rotated?.height], [upright.width, upright.height])
    }

    func storeRemembersItsModel() async throws {
        let other = try await open()
        do {
            try await other.bindModel(name: "model-b", fingerprint: "bbb", dimension: Self.embedder.embeddingDim)
            XCTFail("another model must be refused")
        } catch {
            XCTAssertTrue("\(error)".contains("clip-tiny-f32"), "\(error)")
        }
        let model = try await other.model()
        XCTAssertEqual(model, ModelBinding(name: "clip-tiny-f32", fingerprint: Self.modelFingerprint, dimension: Self.embedder.embeddingDim))
        await other.close()
    }

    /// The precisions a library's vectors were made in: recorded once each, seen through another connection.
    func storeRecordsItsVectorPrecisions() async throws {
        try await store.recordPrecision("int8")
        try await store.recordPrecision("int8")
        try await store.recordPrecision("fp32")
        let other = try await open()
        let precisions = try await other.precisions()
        await other.close()
        XCTAssertEqual(precisions, ["fp32", "int8"])
    }

    /// Two workers on shards 0/2 and 1/2, at the same time through their own connections: exactly the union, each
    /// image once; a re-run of either finds its shard unchanged and leaves the other's alone.
    func shardWorkersTogetherGiveExactlyTheUnion() async throws {
        let (a, b) = (try await open(), try await open())
        let shards = [try Shard("0/2"), try Shard("1/2")]
        async let first = index(into: a, shard: shards[0])
        async let second = index(into: b, shard: shards[1])
        let (s0, s1) = try await (first, second)
        XCTAssertEqual(s0.added + s1.added, photos.count)
        XCTAssertEqual(s0.failed + s1.failed, [])
        try await store.refresh()
        let states = try await store.fileStates()
        XCTAssertEqual(Set(states.map(\.path)), Set(photos.map(path)))
        XCTAssertEqual(states.count, photos.count)
        let again = try await index(into: a, shard: shards[0])
        XCTAssertEqual([again.unchanged, again.added, again.removed], [s0.added, 0, 0])
        await a.close()
        await b.close()
    }

    /// Two workers on the same folders at once (overlap, no shards): unique paths and upserts leave one row each.
    func overlappingWorkersNeverDoubleInsert() async throws {
        let (a, b) = (try await open(), try await open())
        async let first = index(into: a)
        async let second = index(into: b)
        _ = try await (first, second)
        let states = try await store.fileStates()
        XCTAssertEqual(states.count, photos.count)
        XCTAssertEqual(Set(states.map(\.path)).count, photos.count)
        await a.close()
        await b.close()
    }

    /// What one connection writes, another (a second server) finds, after `refresh()`.
    func writesThroughOneConnectionAreSeenByAnother() async throws {
        let reader = try await open()
        let emptyHits = try await reader.nearest(to: Self.embedder.embed(text: "x"), k: 3, minScore: nil, ef: nil)
        XCTAssertEqual(emptyHits, [])
        _ = try await index()
        try await reader.refresh()
        let hits = try await Searcher(store: reader, embedder: Self.embedder).search(imagePath: path("rocket_444.jpg"), limit: 1)
        XCTAssertEqual(hits.first?.path, path("rocket_444.jpg"))
        let id = hits.first?.id ?? 0
        try await store.removeImages(ids: [id])
        try await reader.refresh()
        let after = try await reader.nearest(to: Self.embedder.embed(text: "x"), k: 100, minScore: nil, ef: nil)
        XCTAssertFalse(after.contains { $0.id == id })
        XCTAssertEqual(after.count, photos.count - 1)
        await reader.close()
    }

    /// Every record comes back whole through `forEachImage` (export), and copies into another store unchanged.
    func everyImageCopiesIntoAnotherStore(_ target: any ImageStore) async throws {
        _ = try await index()
        var copied = 0
        try await target.bindModel(name: "clip-tiny-f32", fingerprint: Self.modelFingerprint, dimension: Self.embedder.embeddingDim)
        try await store.forEachImage(batchSize: 4) { batch in
            XCTAssertLessThanOrEqual(batch.count, 4)
            try await target.saveImages(batch)
            copied += batch.count
        }
        XCTAssertEqual(copied, photos.count)
        for name in photos {
            let original = try await store.image(path: path(name))
            let copy = try await target.image(path: path(name))
            XCTAssertEqual(copy?.embedding, original?.embedding, name)
            XCTAssertEqual(copy?.contentHash, original?.contentHash, name)
            XCTAssertEqual(copy?.mtimeNanoseconds, original?.mtimeNanoseconds, name)
        }
    }
}

/// Where the conformance checks find a PostgreSQL server: `$GLIMPSE_TEST_POSTGRES_URL` (scripts/test.sh starts one
/// with scripts/postgres.sh). Each test gets a schema of its own, dropped afterwards.
enum TestPostgres {
    static var url: String? { ProcessInfo.processInfo.environment["GLIMPSE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    static func requireURL() throws -> String {
        guard let url else {
            throw XCTSkip("no PostgreSQL for the conformance suite: set GLIMPSE_TEST_POSTGRES_URL (scripts/postgres.sh start prints one)")
        }
        return url
    }

    /// The URL with a fresh schema.
    static func freshSchemaURL() throws -> String {
        let base = try requireURL()
        return base + (base.contains("?") ? "&" : "?") + "schema=t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
    }
}
