import Foundation
import GlimpseImage
import GlimpseIndex
import GlimpseModels
import GlimpseStore
import XCTest
@testable import GlimpseEngine

/// The main job end to end with the tiny fixture model: index folders, search them, keep up with changes.
final class IndexerTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static let embedder = try! Embedder(directory: fixtures + "/models/clip-tiny-f32", fastDecode: false)
    let photos = ["astronaut_baseline.jpg", "coffee_progressive.jpg", "rocket_444.jpg", "chelsea_palette.png",
                  "coffee_lossy.webp", "camera_gray.jpg"]
    var folder = ""
    var library: Library!

    override func setUpWithError() throws {
        let root = NSTemporaryDirectory() + "glimpse-engine-\(UUID().uuidString)"
        folder = root + "/photos"
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        for (i, name) in photos.enumerated() {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/images/" + name, toPath: folder + (i % 2 == 0 ? "/" : "/sub/") + name)
        }
        library = try Library(directory: root + "/library")
    }

    func index(maxPixels: Int = 100_000_000) throws -> IndexSummary {
        let embedder = try Embedder(directory: Self.fixtures + "/models/clip-tiny-f32", decoder: ImageDecoder(maxPixels: maxPixels), fastDecode: false)
        let summary = try Indexer(library: library, embedder: embedder, batchSize: 4).index(roots: [folder])
        try LibraryIndex(library: library).checkpoint()
        return summary
    }

    func searcher() throws -> Searcher {
        Searcher(library: library, embedder: Self.embedder, index: try LibraryIndex(library: library))
    }

    func path(_ name: String) -> String {
        let top = folder + "/" + name
        return FileManager.default.fileExists(atPath: top) ? top : folder + "/sub/" + name
    }

    func testIndexThenSearchByImageAndText() throws {
        let summary = try index()
        XCTAssertEqual(summary.added, photos.count)
        XCTAssertEqual(summary.failed, [])
        XCTAssertEqual(try library.imageCount(), photos.count)
        let search = try searcher()
        for name in photos {
            let hits = try search.search(imagePath: path(name), limit: 3)
            XCTAssertEqual(hits.first?.path, path(name), name)
            XCTAssertGreaterThanOrEqual(hits.first?.score ?? 0, 0.999, name)
        }
        let hits = try search.search(text: "a cup of coffee", limit: 4)
        XCTAssertEqual(hits.count, 4)
        XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >))
        let record = try library.image(path: path("rocket_444.jpg"))
        XCTAssertEqual(record?.format, "jpeg")
        XCTAssertGreaterThan(record?.width ?? 0, 0)
        XCTAssertEqual(try search.search(text: "x", limit: 10, minScore: 1.01), [])
    }

    func testReindexWithNothingChangedEmbedsNothing() throws {
        _ = try index()
        let second = try index()
        XCTAssertEqual(second.unchanged, photos.count)
        XCTAssertEqual([second.added, second.updated, second.moved, second.removed], [0, 0, 0, 0])
    }

    func testRenameIsDetectedAsMove() throws {
        _ = try index()
        let before = try library.image(path: path("rocket_444.jpg"))!
        try FileManager.default.moveItem(atPath: path("rocket_444.jpg"), toPath: folder + "/sub/renamed-rocket.jpg")
        let summary = try index()
        XCTAssertEqual(summary.moved, 1)
        XCTAssertEqual([summary.added, summary.removed], [0, 0])
        let after = try library.image(path: folder + "/sub/renamed-rocket.jpg")
        XCTAssertEqual(after?.id, before.id)
        XCTAssertEqual(after?.embedding, before.embedding)
        XCTAssertEqual(try searcher().search(imagePath: folder + "/sub/renamed-rocket.jpg", limit: 1).first?.path, folder + "/sub/renamed-rocket.jpg")
    }

    func testDeletedFileLeavesLibraryAndResults() throws {
        _ = try index()
        let gone = path("coffee_lossy.webp")
        try FileManager.default.removeItem(atPath: gone)
        let summary = try index()
        XCTAssertEqual(summary.removed, 1)
        XCTAssertEqual(try library.imageCount(), photos.count - 1)
        let hits = try searcher().search(text: "coffee", limit: 100)
        XCTAssertEqual(hits.count, photos.count - 1)
        XCTAssertFalse(hits.contains { $0.path == gone })
    }

    func testChangedFileIsReembedded() throws {
        _ = try index()
        let target = path("camera_gray.jpg")
        let before = try library.image(path: target)!
        try FileManager.default.removeItem(atPath: target)
        try FileManager.default.copyItem(atPath: Self.fixtures + "/images/rocket_exif6.jpg", toPath: target)
        let summary = try index()
        XCTAssertEqual(summary.updated, 1)
        XCTAssertNotEqual(try library.image(path: target)?.embedding, before.embedding)
    }

    func testCorruptAndOversizeImagesAreListedAndTheRunContinues() throws {
        for name in ["empty.png", "truncated.jpg", "notes.png"] {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/images/broken/" + name, toPath: folder + "/" + name)
        }
        // 512×512 astronaut is over a 200,000-pixel limit; the small images are not.
        let summary = try index(maxPixels: 200_000)
        let failed = Dictionary(uniqueKeysWithValues: summary.failed.map { (($0.path as NSString).lastPathComponent, $0.error) })
        XCTAssertNotNil(failed["empty.png"])
        XCTAssertNotNil(failed["truncated.jpg"])
        XCTAssertNotNil(failed["notes.png"])
        XCTAssertTrue(failed["astronaut_baseline.jpg"]?.contains("too large") ?? false, "\(failed)")
        XCTAssertEqual(summary.added + summary.failed.count, photos.count + 3)
        XCTAssertGreaterThan(summary.added, 0)
    }

    func testSymlinkLoopAndBrokenLinkDoNotStopTheScan() throws {
        try FileManager.default.createSymbolicLink(atPath: folder + "/sub/loop", withDestinationPath: folder)
        try FileManager.default.createSymbolicLink(atPath: folder + "/broken.jpg", withDestinationPath: folder + "/nowhere.jpg")
        let summary = try index()
        XCTAssertEqual(summary.added, photos.count)
        XCTAssertTrue(summary.failed.contains { $0.path.hasSuffix("broken.jpg") })
    }

    /// Shrink-on-load decoding still records the size a viewer shows.
    func testRecordsDisplayedSizeOnTheFastPath() throws {
        try FileManager.default.copyItem(atPath: Self.fixtures + "/images/coffee_large.jpg", toPath: folder + "/large.jpg")
        try FileManager.default.copyItem(atPath: Self.fixtures + "/images/rocket_exif6.jpg", toPath: folder + "/rotated.jpg")
        let embedder = try Embedder(directory: Self.fixtures + "/models/clip-tiny-f32", fastDecode: true)
        _ = try Indexer(library: library, embedder: embedder).index(roots: [folder])
        let large = try library.image(path: folder + "/large.jpg")
        XCTAssertEqual([large?.width, large?.height], [3000, 2000])
        let rotated = try library.image(path: folder + "/rotated.jpg")
        let upright = try ImageDecoder().decode(path: Self.fixtures + "/images/rocket_exif6.jpg")
        XCTAssertEqual([rotated?.width, rotated?.height], [upright.width, upright.height])
    }

    func testLibraryRemembersItsModel() throws {
        try library.bindModel(name: "model-a", fingerprint: "aaa", dimension: 16)
        XCTAssertThrowsError(try library.bindModel(name: "model-b", fingerprint: "bbb", dimension: 16)) { error in
            XCTAssertTrue("\(error)".contains("model-a"), "\(error)")
        }
    }
}
