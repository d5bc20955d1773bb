import Foundation
import XCTest

/// Runs the built `glimpse` binary the way a user does and checks its output and exit status.
final class CLITests: XCTestCase {
    static let fixtures = fixturesPath
    let model = fixturesPath + "/models/clip-tiny-f32"

    func glimpse(_ arguments: [String]) throws -> GlimpseRun { try runGlimpse(arguments) }

    func lines(_ s: String) throws -> [[String: Any]] {
        try s.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func testEmbedPrintsImagesThenTextsInOrder() throws {
        let a = Self.fixtures + "/images/rocket_444.jpg", b = Self.fixtures + "/images/chelsea_palette.png"
        let run = try glimpse(["embed", "--model", model, "--text", "a cat", "--image", a, "--image", b, "--text", "一朵红花", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let objects = try lines(run.stdout)
        XCTAssertEqual(objects.count, 4)
        XCTAssertEqual(objects[0]["image"] as? String, a)
        XCTAssertEqual(objects[1]["image"] as? String, b)
        XCTAssertEqual(objects[2]["text"] as? String, "a cat")
        XCTAssertEqual(objects[3]["text"] as? String, "一朵红花")
        for object in objects {
            let embedding = (object["embedding"] as! [NSNumber]).map(\.doubleValue)
            XCTAssertEqual(embedding.count, 16)
            XCTAssertEqual(embedding.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
        }
    }

    func testFailedImageIsReportedAndOthersStillRun() throws {
        let bad = Self.fixtures + "/images/broken/notes.png", good = Self.fixtures + "/images/rocket_444.jpg"
        let run = try glimpse(["embed", "--model", model, "--image", bad, "--image", good, "--text", "x", "--json"])
        XCTAssertEqual(run.status, 1)
        let objects = try lines(run.stdout)
        XCTAssertEqual(objects.count, 3)
        XCTAssertEqual(objects[0]["image"] as? String, bad)
        XCTAssertTrue((objects[0]["error"] as? String ?? "").contains("notes.png"))
        XCTAssertNil(objects[0]["embedding"])
        XCTAssertNotNil(objects[1]["embedding"])
        XCTAssertNotNil(objects[2]["embedding"])
    }

    func testTokenizeJSON() throws {
        let run = try glimpse(["tokenize", "--model", model, "--text", "a photo of a cat", "<|endoftext|>", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let objects = try lines(run.stdout)
        XCTAssertEqual(objects.count, 2)
        XCTAssertEqual(objects[0]["ids"] as? [Int], [49406, 320, 1125, 539, 320, 2368, 49407])
        XCTAssertEqual(objects[1]["ids"] as? [Int], [49406, 49407, 49407])
    }

    func testMissingModelNamesTheFile() throws {
        let dir = NSTemporaryDirectory() + "glimpse-empty-model-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let run = try glimpse(["embed", "--model", dir, "--text", "x", "--json"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains(dir + "/config.json"), run.stderr)
    }

    func testNoInputIsAUsageError() throws {
        let run = try glimpse(["embed", "--model", model])
        XCTAssertEqual(run.status, 64)
        XCTAssertTrue(run.stderr.contains("Give at least one --image or --text."), run.stderr)
    }
}
