import Foundation
import XCTest

/// `glimpse caption`, `index --captions`, `search --path` and `eval` as a user runs them, on the fixture models.
final class CaptionEvalCLITests: XCTestCase {
    let clip = fixturesPath + "/models/clip-tiny-f32"
    let captioner = fixturesPath + "/models/vit-gpt2-tiny"
    let sentences = fixturesPath + "/models/st-bert-mean-normalize"
    var root = ""
    var photos: String { root + "/photos" }
    var library: String { root + "/library" }

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "glimpse-captions-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        for name in ["rocket_444.jpg", "coffee_progressive.jpg", "moon_gray.png", "astronaut_baseline.jpg"] {
            try FileManager.default.copyItem(atPath: fixturesPath + "/images/" + name, toPath: photos + "/" + name)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func json(_ run: GlimpseRun) throws -> Any { try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) }

    struct Reference: Decodable {
        struct Case: Decodable { let name: String; let images: [Image] }
        struct Image: Decodable { let file: String; let ids: [Int] }
        let cases: [Case]
    }

    func testCaptionPrintsTheReferenceIdsAndReportsBadFiles() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: fixturesPath + "/reference/vit-gpt2-tiny.json")))
        let expected = Dictionary(uniqueKeysWithValues: reference.cases.first { $0.name == "default" }!.images.map { ($0.file, $0.ids) })
        let files = ["images/astronaut_baseline.jpg", "images/moon_gray.png", "images/rocket.bmp"]
        let run = try runGlimpse(["caption", "--model", captioner, "--json"] + files.flatMap { ["--image", fixturesPath + "/" + $0] }
                                 + ["--image", root + "/missing.jpg"])
        XCTAssertEqual(run.status, 1, "a failed image makes the exit status 1")
        let lines = run.stdout.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(lines.count, 4)
        for (file, line) in zip(files, lines) {
            XCTAssertEqual(line["ids"] as? [Int], expected[file], file)
            XCTAssertNotNil(line["caption"] as? String)
        }
        XCTAssertTrue((lines[3]["error"] as? String ?? "").contains("missing.jpg"))

        // Greedy through the flags.
        let greedy = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: fixturesPath + "/reference/vit-gpt2-tiny.json")))
            .cases.first { $0.name == "greedy_no_repeat_ngram_2" }!.images.first { $0.file == files[0] }!
        let flagged = try runGlimpse(["caption", "--model", captioner, "--json", "--num-beams", "1", "--no-repeat-ngram-size", "2",
                                      "--max-length", "16", "--image", fixturesPath + "/" + files[0]])
        XCTAssertEqual(flagged.status, 0, flagged.stderr)
        XCTAssertEqual((try json(flagged) as? [String: Any])?["ids"] as? [Int], greedy.ids)

        // BLIP: the default is greedy with at most 20 new tokens, as transformers runs it.
        let blipReference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: fixturesPath + "/reference/blip-tiny.json")))
        let blipDefault = Dictionary(uniqueKeysWithValues: blipReference.cases.first { $0.name == "default" }!.images.map { ($0.file, $0.ids) })
        let blip = try runGlimpse(["caption", "--model", fixturesPath + "/models/blip-tiny", "--json", "--image", fixturesPath + "/" + files[0]])
        XCTAssertEqual(blip.status, 0, blip.stderr)
        XCTAssertEqual((try json(blip) as? [String: Any])?["ids"] as? [Int], blipDefault[files[0]])

        let notACaptioner = try runGlimpse(["caption", "--model", clip, "--image", fixturesPath + "/" + files[0]])
        XCTAssertNotEqual(notACaptioner.status, 0)
        XCTAssertTrue(notACaptioner.stderr.contains("not an image-captioning model"), notACaptioner.stderr)
    }

    func index(_ extra: [String] = []) throws -> [String: Any] {
        let run = try runGlimpse(["index", photos, "--library", library, "--model", clip, "--captions", "--caption-model", captioner,
                                  "--sentence-model", sentences, "--num-beams", "1", "--json"] + extra)
        XCTAssertEqual(run.status, 0, run.stderr)
        return try json(run) as! [String: Any]
    }

    func search(_ query: String, path: String) throws -> [[String: Any]] {
        let run = try runGlimpse(["search", query, "--library", library, "--path", path, "--json", "--limit", "10"])
        XCTAssertEqual(run.status, 0, run.stderr)
        return try json(run) as! [[String: Any]]
    }

    func testIndexWithCaptionsThenSearchEveryPath() throws {
        // Captions need --captions; a library without captions refuses the caption paths clearly.
        XCTAssertEqual(try runGlimpse(["index", photos, "--library", library, "--model", clip, "--json"]).status, 0)
        let noCaptions = try runGlimpse(["search", "rocket", "--library", library, "--path", "caption"])
        XCTAssertNotEqual(noCaptions.status, 0)
        XCTAssertTrue(noCaptions.stderr.contains("--captions"), noCaptions.stderr)

        // Adding captions to an existing library captions every image once.
        XCTAssertEqual(try index()["captioned"] as? Int, 4)
        XCTAssertEqual(try index()["captioned"] as? Int, 0)
        for path in ["clip", "caption", "hybrid"] {
            let hits = try search("a rocket on a launch pad", path: path)
            XCTAssertEqual(hits.count, 4, path)
            XCTAssertTrue(hits.allSatisfy { $0["caption"] is String }, "\(path): every result carries its caption")
        }
        // A caption finds its own image first on the caption path.
        let hits = try search("a rocket on a launch pad", path: "clip")
        let target = try XCTUnwrap(hits.first { !(($0["caption"] as? String) ?? "").trimmingCharacters(in: .whitespaces).isEmpty })
        let own = try search(target["caption"] as! String, path: "caption")
        XCTAssertEqual(own.first?["path"] as? String, target["path"] as? String)

        // A new image is captioned, a moved one keeps its caption.
        try FileManager.default.copyItem(atPath: fixturesPath + "/images/chelsea_palette.png", toPath: photos + "/cat.png")
        try FileManager.default.moveItem(atPath: photos + "/moon_gray.png", toPath: photos + "/moon.png")
        let again = try index()
        XCTAssertEqual(again["added"] as? Int, 1)
        XCTAssertEqual(again["moved"] as? Int, 1)
        XCTAssertEqual(again["captioned"] as? Int, 1)

        // Another sentence model than the library's is refused.
        let other = try runGlimpse(["index", photos, "--library", library, "--model", clip, "--captions", "--caption-model", captioner,
                                    "--sentence-model", fixturesPath + "/models/st-roberta-max"])
        XCTAssertNotEqual(other.status, 0)
        XCTAssertTrue(other.stderr.contains("st-bert-mean-normalize"), other.stderr)

        let badPath = try runGlimpse(["search", "x", "--library", library, "--path", "both"])
        XCTAssertNotEqual(badPath.status, 0)
        let badFusion = try runGlimpse(["search", "x", "--library", library, "--path", "hybrid", "--fusion", "max"])
        XCTAssertNotEqual(badFusion.status, 0)
        XCTAssertTrue(badFusion.stderr.contains("--fusion"), badFusion.stderr)
    }

    func eval(_ dataset: String, _ extra: [String] = []) throws -> [String: Any] {
        let run = try runGlimpse(["eval", "--dataset", fixturesPath + "/eval/" + dataset, "--images", fixturesPath + "/images",
                                  "--model", clip, "--caption-model", captioner, "--sentence-model", sentences, "--num-beams", "1",
                                  "--library", library, "--json"] + extra)
        XCTAssertEqual(run.status, 0, run.stderr)
        return try json(run) as! [String: Any]
    }

    /// The report without timings.
    func metrics(_ report: [String: Any]) -> [String: [String: [String: Double]]] {
        var out: [String: [String: [String: Double]]] = [:]
        for (path, value) in report["paths"] as! [String: [String: Any]] {
            out[path] = value.filter { $0.key != "ms_per_query" }.mapValues { ($0 as! [String: Any]).mapValues { ($0 as! NSNumber).doubleValue } }
        }
        return out
    }

    func testEvalReportsEveryPathAndEveryLayoutAgrees() throws {
        let flickr = try eval("flickr30k_test_karpathy.txt", ["--plot", root + "/chart.png"])
        XCTAssertEqual(flickr["images"] as? Int, 10)
        XCTAssertEqual(flickr["captions"] as? Int, 21)
        let scores = metrics(flickr)
        XCTAssertEqual(Set(scores.keys), ["clip", "caption", "hybrid"])
        for (path, directions) in scores {
            XCTAssertEqual(Set(directions.keys), ["text_to_image", "image_to_text"], path)
            for (direction, values) in directions {
                XCTAssertEqual(Set(values.keys), ["recall@1", "recall@5", "recall@10", "mrr", "median_rank"])
                XCTAssertTrue((0...1).contains(values["recall@1"]!) && values["recall@1"]! <= values["recall@5"]! && values["recall@5"]! <= values["recall@10"]!)
                if direction == "text_to_image" { XCTAssertEqual(values["recall@10"], 1, "10 images: every correct image is in the top 10") }
            }
        }
        let png = try Data(contentsOf: URL(fileURLWithPath: root + "/chart.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        for dataset in ["coco_test_karpathy.json", "dataset_karpathy.json", "captions.csv", "captions.tsv"] {
            XCTAssertEqual(metrics(try eval(dataset)), scores, dataset)
        }
        let clipOnly = try eval("flickr30k_test_karpathy.txt", ["--path", "clip", "--k", "1,2", "--plot", root + "/chart.svg"])
        XCTAssertEqual(Set(metrics(clipOnly).keys), ["clip"])
        XCTAssertEqual(Set(metrics(clipOnly)["clip"]!["text_to_image"]!.keys), ["recall@1", "recall@2", "mrr", "median_rank"])
        XCTAssertTrue(try String(contentsOfFile: root + "/chart.svg", encoding: .utf8).hasPrefix("<svg"))

        // Terminal table.
        let table = try runGlimpse(["eval", "--dataset", fixturesPath + "/eval/image_list.txt", "--captions-file", fixturesPath + "/eval/captions_de.txt",
                                    "--images", fixturesPath + "/images", "--model", clip, "--path", "clip", "--library", library])
        XCTAssertEqual(table.status, 0, table.stderr)
        XCTAssertTrue(table.stdout.contains("10 images, 10 captions"), table.stdout)
        XCTAssertTrue(table.stdout.contains("t→i R@1"), table.stdout)

        // A dataset naming a missing image leaves it out and says so.
        try "image,caption\nrocket.bmp,a rocket\nnot-there.jpg,nothing\n".write(toFile: root + "/partial.csv", atomically: true, encoding: .utf8)
        let partial = try runGlimpse(["eval", "--dataset", root + "/partial.csv", "--images", fixturesPath + "/images", "--model", clip,
                                      "--path", "clip", "--library", library, "--json"])
        XCTAssertEqual(partial.status, 0, partial.stderr)
        XCTAssertTrue(partial.stderr.contains("not-there.jpg"), partial.stderr)
        XCTAssertEqual((try json(partial) as? [String: Any])?["missing_images"] as? [String], ["not-there.jpg"])

        let bad = try runGlimpse(["eval", "--dataset", root + "/nope.csv", "--images", photos, "--model", clip])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("nope.csv"), bad.stderr)
    }
}
