import Foundation
import GlimpseStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `glimpse index` and `glimpse search` as a user runs them, including a kill -9 in the middle of indexing.
final class IndexSearchCLITests: XCTestCase {
    let model = CLITests.fixtures + "/models/clip-tiny-f32"
    var root = ""
    var photos: String { root + "/photos" }
    var library: String { root + "/library" }

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "glimpse-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        for name in ["rocket_444.jpg", "coffee_progressive.jpg", "chelsea_palette.png", "astronaut_baseline.jpg"] {
            try FileManager.default.copyItem(atPath: CLITests.fixtures + "/images/" + name, toPath: photos + "/" + name)
        }
    }

    func glimpse(_ arguments: [String]) throws -> GlimpseRun { try runGlimpse(arguments) }

    func summary(_ run: GlimpseRun) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
    }

    func testIndexThenSearchByTextAndImage() throws {
        let first = try glimpse(["index", photos, "--library", library, "--model", model, "--json"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let s = try summary(first)
        XCTAssertEqual(s["added"] as? Int, 4)
        XCTAssertEqual((s["failed"] as? [Any])?.count, 0)
        for key in ["updated", "moved", "removed", "unchanged"] { XCTAssertEqual(s[key] as? Int, 0, key) }

        let again = try summary(try glimpse(["index", photos, "--library", library, "--model", model, "--json"]))
        XCTAssertEqual(again["unchanged"] as? Int, 4)
        XCTAssertEqual(again["added"] as? Int, 0)

        let byImage = try glimpse(["search", "--image", photos + "/rocket_444.jpg", "--library", library, "--model", model, "--json", "--limit", "2"])
        XCTAssertEqual(byImage.status, 0, byImage.stderr)
        let hits = try JSONSerialization.jsonObject(with: Data(byImage.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(hits.count, 2)
        XCTAssertEqual(hits[0]["path"] as? String, photos + "/rocket_444.jpg")
        XCTAssertGreaterThanOrEqual((hits[0]["score"] as? Double) ?? 0, 0.999)

        // The library remembers its model: no --model needed.
        let byText = try glimpse(["search", "a rocket", "--library", library, "--json"])
        XCTAssertEqual(byText.status, 0, byText.stderr)
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(byText.stdout.utf8)) as! [Any]).count, 4)

        let human = try glimpse(["search", "a rocket", "--library", library, "--limit", "1"])
        XCTAssertTrue(human.stdout.contains(photos + "/"), human.stdout)
    }

    func testSearchingWithAnotherModelIsAClearError() throws {
        XCTAssertEqual(try glimpse(["index", photos, "--library", library, "--model", model, "--json"]).status, 0)
        let other = CLITests.fixtures + "/models/clip-tiny-f16"
        let run = try glimpse(["search", "x", "--library", library, "--model", other])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("indexed with model"), run.stderr)
    }

    /// A library built with CLIP answers a Chinese query through a multilingual text model of the same space, with
    /// no re-indexing; a text model of another dimension is an error naming both models.
    func testChineseQueryThroughAnotherTextModelAgainstAnExistingLibrary() throws {
        XCTAssertEqual(try glimpse(["index", photos, "--library", library, "--model", model, "--json"]).status, 0)
        let multilingual = CLITests.fixtures + "/models/st-distilbert-multilingual"
        let run = try glimpse(["search", "两个孩子在一栋房子前面奔跑", "--text-model", multilingual, "--library", library, "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let hits = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(hits.count, 4)
        let scores = hits.compactMap { $0["score"] as? Double }
        XCTAssertEqual(scores, scores.sorted(by: >))
        let wrong = CLITests.fixtures + "/models/st-xlmr-cls-dense"
        let refused = try glimpse(["search", "一朵红花", "--text-model", wrong, "--library", library])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("st-xlmr-cls-dense") && refused.stderr.contains("16"), refused.stderr)
    }

    func testSearchWithoutLibraryExplains() throws {
        let run = try glimpse(["search", "x", "--library", root + "/nothing", "--model", model])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("glimpse index"), run.stderr)
    }

    /// kill -9 while indexing, then run again: every image is in the library exactly once and searchable.
    func testKillDuringIndexingThenResumeEndsConsistent() throws {
        // Enough files that a batch-size-1 run takes a while: copies of the fixtures under distinct names.
        let total = try addCopies(in: photos, count: 150)
        let process = try startGlimpse(["index", photos, "--library", library, "--model", model, "--batch-size", "1", "--json"])
        // Wait until some batches are committed, then kill without warning.
        let database = library + "/library.sqlite"
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            if let count = try? committedCount(database), count >= 3 { break }
            usleep(20_000)
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()

        let resumed = try glimpse(["index", photos, "--library", library, "--model", model, "--json"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let s = try summary(resumed)
        XCTAssertEqual((s["added"] as! Int) + (s["unchanged"] as! Int), total, "\(s)")
        XCTAssertGreaterThan(s["unchanged"] as! Int, 0, "the kill should land after some batches were committed")
        XCTAssertGreaterThan(s["added"] as! Int, 0, "the kill should land before the run finished")
        XCTAssertEqual(try committedCount(database), total)
        let search = try glimpse(["search", "--image", photos + "/rocket_444.jpg", "--library", library, "--json", "--limit", String(total + 5)])
        let hits = try JSONSerialization.jsonObject(with: Data(search.stdout.utf8)) as! [[String: Any]]
        XCTAssertEqual(hits.count, total)
        XCTAssertEqual(Set(hits.compactMap { $0["path"] as? String }).count, total)
    }

    /// Images committed so far, read beside the running writer (WAL lets readers in).
    func committedCount(_ database: String) throws -> Int? {
        guard FileManager.default.fileExists(atPath: database) else { return nil }
        return try Library(directory: library, create: false).imageCount()
    }
}
