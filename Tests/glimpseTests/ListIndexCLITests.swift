import Foundation
import XCTest

/// `glimpse index --list` end to end against misbehaving hosts on loopback (`glimpse-fixture-server`): every good
/// row indexed with its metadata, every bad row reported with its reason, re-runs that fetch nothing, a kill -9
/// mid-run that costs no second download, and filtered searches over the metadata.
final class ListIndexCLITests: XCTestCase {
    var root = ""
    var server: FixtureServer!
    let model = fixturesPath + "/models/clip-tiny-f32"

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "glimpse-list-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() {
        server?.stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    var environment: [String: String] { ["XDG_CACHE_HOME": root + "/cache"] }

    func index(_ arguments: [String], library: String? = nil) throws -> [String: Any] {
        let run = try runGlimpse(["index", "--library", library ?? root + "/lib", "--model", model, "--json", "--allow-private-network",
                                  "--timeout", "1", "--retries", "1", "--max-download-mb", "5"] + arguments, environment: environment)
        XCTAssertEqual(run.status, 0, run.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout + run.stderr)
    }

    func search(_ query: String, _ arguments: [String] = [], library: String? = nil) throws -> [[String: Any]] {
        let run = try runGlimpse(["search", query, "--library", library ?? root + "/lib", "--model", model, "--json", "--limit", "50"] + arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [[String: Any]], run.stdout + run.stderr)
    }

    static let unsplashHeader = ["photo_id", "photo_url", "photo_image_url", "photo_submitted_at", "photo_featured", "photo_width",
                                 "photo_height", "photo_aspect_ratio", "photo_description", "photographer_username", "photographer_first_name",
                                 "photographer_last_name", "exif_camera_make", "exif_camera_model", "exif_iso", "exif_aperture_value",
                                 "exif_focal_length", "exif_exposure_time", "photo_location_name", "photo_location_latitude",
                                 "photo_location_longitude", "photo_location_country", "photo_location_city", "stats_views",
                                 "stats_downloads", "ai_description", "ai_primary_landmark_name", "ai_primary_landmark_latitude",
                                 "ai_primary_landmark_longitude", "ai_primary_landmark_confidence", "blur_hash"]

    /// An Unsplash-shaped row: the real header, these values where given, plausible ones elsewhere.
    func unsplashRow(_ id: String, url: String, submitted: String, first: String, last: String, description: String) -> String {
        let values: [String: String] = [
            "photo_id": id, "photo_url": "https://unsplash.com/photos/\(id)", "photo_image_url": url, "photo_submitted_at": submitted,
            "photo_featured": "t", "photo_width": "4000", "photo_height": "3000", "photo_aspect_ratio": "1.33", "photo_description": description,
            "photographer_username": first.lowercased(), "photographer_first_name": first, "photographer_last_name": last,
            "exif_camera_make": "Canon", "exif_iso": "100", "photo_location_country": "Iceland", "stats_views": "12345",
        ]
        return Self.unsplashHeader.map { values[$0] ?? "" }.joined(separator: "\t")
    }

    func failures(_ summary: [String: Any]) -> [String: String] {
        Dictionary(((summary["failed"] as? [[String: Any]]) ?? []).map { (($0["id"] as? String) ?? ($0["path"] as? String ?? "?"), $0["error"] as? String ?? "") },
                   uniquingKeysWith: { a, _ in a })
    }

    func testUnsplashListIndexesGoodRowsReportsBadOnesAndReRunFetchesNothing() throws {
        server = try FixtureServer(root: fixturesPath + "/images")
        let b = server.base
        let good: [(String, String, String, String, String)] = [
            ("u1", "\(b)/images/astronaut_baseline.jpg", "2021-05-31 20:44:00.447", "Jane", "Doe"),
            ("u2", "\(b)/redirect/2/camera_gray.jpg", "2019-02-01 10:00:00", "Ann", "Lee"),
            ("u3", "\(b)/flaky/u3/coffee_large.jpg", "2022-07-15 08:30:00", "Jane", "Doe"),
            ("u4", "\(b)/ratelimited/u4/rocket_444.jpg", "2023-01-01 00:00:00", "Bo", "Ek"),
            ("u5", "\(b)/images/chelsea_palette.png", "2020-12-31 23:59:59", "Cy", "Fox"),
        ]
        let bad: [(String, String, String)] = [
            ("b1", "\(b)/status/404", "HTTP 404"),
            ("b2", "\(b)/stall/rocket.bmp", "timed out"),
            ("b3", "\(b)/huge", "too large"),
            ("b4", "\(b)/html/photo.jpg", "not an image: an HTML page"),
            ("b5", "\(b)/truncated/coffee_large.jpg", "cannot decode"),
            ("b6", "\(b)/status/503", "HTTP 503"),
            ("b7", "\(b)/redirect-loop", "redirects"),
            ("b8", "ftp://example.com/x.jpg", "only http, https, file and s3"),
        ]
        var lines = [Self.unsplashHeader.joined(separator: "\t")]
        for (id, url, date, first, last) in good { lines.append(unsplashRow(id, url: url, submitted: date, first: first, last: last, description: "photo \(id)")) }
        for (id, url, _) in bad { lines.append(unsplashRow(id, url: url, submitted: "2020-01-01 00:00:00", first: "X", last: "Y", description: "")) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: root + "/photos.tsv000", atomically: true, encoding: .utf8)
        try "photo_id\tkeyword\tai_service_1_confidence\tai_service_2_confidence\tsuggested_by_user\nu1\tbeach\t0.9\t\tf\nu1\tsky\t0.8\t\tf\nu2\tbeach\t0.5\t\tt\nu3\tcoffee\t0.9\t\tf\n"
            .write(toFile: root + "/keywords.tsv000", atomically: true, encoding: .utf8)

        let first = try index(["--list", root + "/photos.tsv000"])
        XCTAssertEqual(first["added"] as? Int, good.count, "\(first)")
        XCTAssertEqual(first["fetched"] as? Int, good.count + 1, "the good rows and the truncated image (downloaded, then undecodable)")
        let reasons = failures(first)
        XCTAssertEqual(Set(reasons.keys), Set(bad.map(\.0)), "\(reasons)")
        for (id, url, reason) in bad {
            XCTAssertTrue(reasons[id]?.contains(reason) ?? false, "\(id) (\(url)): \(reasons[id] ?? "not reported"), expected '\(reason)'")
        }
        let afterFirst = try server.stats()

        // Every good row is searchable, with its id, URL and metadata (Unsplash's columns, photographer, year, keywords).
        let all = try search("a photo")
        XCTAssertEqual(Set(all.compactMap { $0["id"] as? String }), Set(good.map(\.0)))
        let u1 = try XCTUnwrap(all.first { $0["id"] as? String == "u1" })
        XCTAssertEqual(u1["url"] as? String, good[0].1)
        let metadata = try XCTUnwrap(u1["metadata"] as? [String: Any])
        XCTAssertEqual(metadata["photographer"] as? String, "Jane Doe")
        XCTAssertEqual(metadata["year"] as? Int, 2021)
        XCTAssertEqual(metadata["photo_width"] as? Int, 4000)
        XCTAssertEqual(metadata["caption"] as? String, "photo u1")
        XCTAssertEqual(metadata["keywords"] as? [String], ["beach", "sky"])
        XCTAssertEqual(metadata["photo_location_country"] as? String, "Iceland")

        // Filters: exactly the rows that satisfy them.
        func ids(_ clauses: [String]) throws -> Set<String> {
            Set(try search("a photo", clauses.flatMap { ["--where", $0] }).compactMap { $0["id"] as? String })
        }
        XCTAssertEqual(try ids(["keywords contains \"beach\""]), ["u1", "u2"])
        XCTAssertEqual(try ids(["photographer = \"Jane Doe\""]), ["u1", "u3"])
        XCTAssertEqual(try ids(["year >= 2021"]), ["u1", "u3", "u4"])
        XCTAssertEqual(try ids(["year >= 2021", "photographer = \"Jane Doe\"", "keywords contains beach"]), ["u1"])
        XCTAssertEqual(try ids(["photographer_first_name in (\"Ann\", \"Cy\")"]), ["u2", "u5"])
        XCTAssertEqual(try ids(["photo_submitted_at < \"2020\""]), ["u2"])
        let refused = try runGlimpse(["search", "x", "--library", root + "/lib", "--model", model, "--where", "year >> 3"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("year >> 3"), refused.stderr)

        // A re-run fetches nothing that is indexed (the bad rows are tried again, and fail again).
        let second = try index(["--list", root + "/photos.tsv000"])
        XCTAssertEqual(second["fetched"] as? Int, 1, "only the truncated image is downloaded again: \(second)")
        XCTAssertEqual(second["unchanged"] as? Int, good.count)
        XCTAssertEqual(second["added"] as? Int, 0)
        let afterSecond = try server.stats()
        for path in ["/images/astronaut_baseline.jpg", "/images/camera_gray.jpg", "/flaky/u3/coffee_large.jpg", "/images/chelsea_palette.png"] {
            XCTAssertEqual(afterSecond[path], afterFirst[path], "\(path) was fetched again")
        }

        // Without --allow-private-network a list cannot reach loopback, and nothing is fetched.
        let before = try server.stats()
        let refusedRun = try runGlimpse(["index", "--library", root + "/other", "--model", model, "--json", "--list", root + "/photos.tsv000"],
                                        environment: environment)
        XCTAssertEqual(refusedRun.status, 0, refusedRun.stderr)
        let refusedSummary = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(refusedRun.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(refusedSummary["added"] as? Int, 0)
        XCTAssertTrue(failures(refusedSummary)["u1"]?.contains("private, loopback or link-local") ?? false, "\(refusedSummary)")
        XCTAssertEqual(try server.stats(), before, "a refused list must not reach the server")
    }

    func testConceptualCaptionsListFollowsEditsOfTheList() throws {
        server = try FixtureServer(root: fixturesPath + "/images")
        let b = server.base
        let list = root + "/cc.tsv"
        func write(_ rows: [(String, String)]) throws {
            try rows.map { "\($0.0)\t\(b)/images/\($0.1)" }.joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        }
        try write([("an astronaut in a white suit", "astronaut_baseline.jpg"), ("a cup of coffee", "coffee_large.jpg"),
                   ("a rocket on the pad", "rocket_444.jpg")])
        let first = try index(["--list", list])
        XCTAssertEqual(first["added"] as? Int, 3, "\(first)")
        let hits = try search("x")
        XCTAssertEqual(Set(hits.compactMap { $0["id"] as? String }), Set(["astronaut_baseline.jpg", "coffee_large.jpg", "rocket_444.jpg"].map { "\(b)/images/\($0)" }),
                       "a header-less caption<TAB>url list: each image's identity is its URL")
        let coffee = try XCTUnwrap(hits.first { ($0["url"] as? String)?.hasSuffix("coffee_large.jpg") ?? false })
        XCTAssertEqual((coffee["metadata"] as? [String: Any])?["caption"] as? String, "a cup of coffee")

        // A row leaves the list, another's caption changes: one removal, one metadata update, no download.
        try write([("an astronaut in a white suit", "astronaut_baseline.jpg"), ("a rocket on the launch pad", "rocket_444.jpg")])
        let edited = try index(["--list", list])
        XCTAssertEqual(edited["removed"] as? Int, 1, "\(edited)")
        XCTAssertEqual(edited["metadata_updated"] as? Int, 1)
        XCTAssertEqual(edited["fetched"] as? Int, 0)
        let rocket = try XCTUnwrap(try search("x", ["--where", "caption contains \"launch\""]).first)
        XCTAssertTrue((rocket["url"] as? String)?.hasSuffix("rocket_444.jpg") ?? false)

        // --keep-removed keeps images whose rows left.
        try write([("a rocket on the launch pad", "rocket_444.jpg")])
        let kept = try index(["--list", list, "--keep-removed"])
        XCTAssertEqual(kept["removed"] as? Int, 0, "\(kept)")
        XCTAssertEqual(try search("x").count, 2)

        // Captions for list images: their originals are fetched again (the default cache released them).
        let captioned = try index(["--list", list, "--keep-removed", "--captions", "--caption-model", fixturesPath + "/models/vit-gpt2-tiny",
                                   "--sentence-model", fixturesPath + "/models/st-bert-mean-normalize", "--num-beams", "1"])
        XCTAssertEqual(captioned["captioned"] as? Int, 2, "\(captioned)")
        XCTAssertEqual((captioned["failed"] as? [Any])?.count, 0, "\(captioned)")
        XCTAssertEqual(try search("x", ["--path", "caption"]).count, 2)
    }

    func testCacheServesAnotherLibraryAndRevalidationAsksTheServer() throws {
        server = try FixtureServer(root: fixturesPath + "/images")
        let list = root + "/list.csv"
        let names = ["astronaut_baseline.jpg", "camera_gray.jpg", "rocket_444.jpg"]
        try (["id,url,year"] + names.enumerated().map { "\($0.offset),\(server.base)/images/\($0.element),\(2000 + $0.offset)" })
            .joined(separator: "\n").write(toFile: list, atomically: true, encoding: .utf8)
        let first = try index(["--list", list, "--cache", root + "/originals"])
        XCTAssertEqual(first["fetched"] as? Int, 3, "\(first)")
        let other = try index(["--list", list, "--cache", root + "/originals"], library: root + "/lib2")
        XCTAssertEqual(other["added"] as? Int, 3, "\(other)")
        XCTAssertEqual(other["fetched"] as? Int, 0, "a second library reads the kept originals")
        XCTAssertEqual(try search("x", library: root + "/lib2").count, 3)

        // Revalidation: conditional requests, answered 304, keep everything.
        let revalidated = try index(["--list", list, "--revalidate"])
        XCTAssertEqual(revalidated["unchanged"] as? Int, 3, "\(revalidated)")
        XCTAssertEqual(revalidated["fetched"] as? Int, 0)
        XCTAssertEqual(try server.stats()["/images/camera_gray.jpg"], 2, "one download, one 304")
    }

    func testKillMidRunThenReRunCompletesWithoutDownloadingAnythingTwice() throws {
        let images = root + "/served"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        let sources = ["rocket_444.jpg", "camera_gray.jpg", "tiny_3x5.png", "coffee_lossy.webp"]
        let count = 40
        for i in 0..<count {
            let source = sources[i % sources.count]
            try FileManager.default.copyItem(atPath: fixturesPath + "/images/" + source, toPath: images + "/\(i)-" + source)
        }
        server = try FixtureServer(root: images, latencyMs: 120)
        let names = try FileManager.default.contentsOfDirectory(atPath: images).sorted()
        try (["url"] + names.map { "\(server.base)/images/\($0)" }).joined(separator: "\n").write(toFile: root + "/list.csv", atomically: true, encoding: .utf8)
        let arguments = ["index", "--library", root + "/lib", "--model", model, "--allow-private-network", "--list", root + "/list.csv",
                         "--batch-size", "3", "--parallel-downloads", "2"]
        let process = try startGlimpse(arguments, environment: environment)
        let deadline = Date().addingTimeInterval(60)
        while try server.stats().values.reduce(0, +) < 10 && Date() < deadline && process.isRunning { Thread.sleep(forTimeInterval: 0.05) }
        XCTAssertTrue(process.isRunning, "the run ended before it could be killed")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let killedAfter = try server.stats().values.reduce(0, +)
        XCTAssertLessThan(killedAfter, count, "killed mid-run")

        let resumed = try index(["--list", root + "/list.csv"])
        XCTAssertEqual((resumed["failed"] as? [Any])?.count, 0, "\(resumed)")
        XCTAssertEqual((resumed["added"] as? Int ?? 0) + (resumed["unchanged"] as? Int ?? 0), count, "\(resumed)")
        XCTAssertEqual(try search("x").count, count)
        // Downloads finished before the kill are not repeated: only the (at most 2) in flight at that moment may be.
        let stats = try server.stats()
        XCTAssertEqual(stats.count, count)
        let repeated = stats.values.reduce(0) { $0 + ($1 - 1) }
        XCTAssertLessThanOrEqual(repeated, 2, "downloads repeated after the kill: \(stats.filter { $0.value > 1 })")
    }
}
