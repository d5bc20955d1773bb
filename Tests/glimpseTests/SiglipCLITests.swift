import Foundation
import XCTest

/// Every command a user runs, with a SigLIP (spiece.model) and a SigLIP 2 (Gemma tokenizer.json) folder.
final class SiglipCLITests: XCTestCase {
    func glimpse(_ arguments: [String]) throws -> GlimpseRun { try runGlimpse(arguments) }
    func json(_ s: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(s.utf8)) }

    func testModelInfoTokenizeEmbedIndexAndSearch() throws {
        let root = NSTemporaryDirectory() + "glimpse-siglip-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/photos", withIntermediateDirectories: true)
        for name in ["rocket_444.jpg", "coffee_progressive.jpg", "chelsea_palette.png", "astronaut_baseline.jpg"] {
            try FileManager.default.copyItem(atPath: CLITests.fixtures + "/images/" + name, toPath: root + "/photos/" + name)
        }
        for (name, dimension, tokenizer) in [("siglip-tiny", 32, "Unigram"), ("siglip2-tiny", 48, "BPE")] {
            let model = CLITests.fixtures + "/models/" + name
            let info = try json(try glimpse(["model", "info", model, "--json"]).stdout) as! [String: Any]
            XCTAssertEqual(info["family"] as? String, "SigLIP")
            XCTAssertEqual(info["image_dimension"] as? Int, dimension)
            XCTAssertEqual(info["tokenizer"] as? String, tokenizer)
            XCTAssertEqual(info["max_tokens"] as? Int, 64)
            XCTAssertNotNil(info["logit_scale"])

            // Lower-cased and padded to the fixed 64 ids, as the model sees them.
            let tokens = try glimpse(["tokenize", "--model", model, "--text", "A RED Flower", "--text", "a red flower", "--json"])
            XCTAssertEqual(tokens.status, 0, tokens.stderr)
            let ids = try tokens.stdout.split(separator: "\n").map { (try json(String($0)) as! [String: Any])["ids"] as! [Int] }
            XCTAssertEqual(ids[0].count, 64)
            XCTAssertEqual(ids[0], ids[1], name)

            let embed = try glimpse(["embed", "--model", model, "--text", "a rocket", "--image", root + "/photos/rocket_444.jpg", "--json"])
            XCTAssertEqual(embed.status, 0, embed.stderr)
            for line in embed.stdout.split(separator: "\n") {
                let vector = ((try json(String(line)) as! [String: Any])["embedding"] as! [NSNumber]).map(\.doubleValue)
                XCTAssertEqual(vector.count, dimension)
                XCTAssertEqual(vector.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
            }

            let library = root + "/library-" + name
            let index = try glimpse(["index", root + "/photos", "--library", library, "--model", model, "--json"])
            XCTAssertEqual(index.status, 0, index.stderr)
            XCTAssertEqual((try json(index.stdout) as! [String: Any])["added"] as? Int, 4)
            let byText = try glimpse(["search", "a rocket", "--library", library, "--json"])
            XCTAssertEqual(byText.status, 0, byText.stderr)
            let hits = try json(byText.stdout) as! [[String: Any]]
            XCTAssertEqual(hits.count, 4)
            for hit in hits {
                let score = try XCTUnwrap(hit["score"] as? Double), probability = try XCTUnwrap(hit["probability"] as? Double)
                XCTAssertTrue((-1...1).contains(score) && (0...1).contains(probability), "\(hit)")
            }
            let byImage = try glimpse(["search", "--image", root + "/photos/rocket_444.jpg", "--library", library, "--json", "--limit", "1"])
            let top = (try json(byImage.stdout) as! [[String: Any]])[0]
            XCTAssertEqual(top["path"] as? String, root + "/photos/rocket_444.jpg")
            XCTAssertNil(top["probability"])
        }
    }
}
