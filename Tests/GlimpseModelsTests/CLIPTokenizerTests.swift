import XCTest
@testable import GlimpseModels

final class CLIPTokenizerTests: XCTestCase {
    /// Every reference text gives exactly the ids of the Hugging Face fast tokenizer, whether the tokenizer is
    /// read from tokenizer.json (f32 fixture) or from vocab.json + merges.txt (f16 fixture).
    func testIdsMatchReferenceForBothFileLayouts() throws {
        let reference = try Fixtures.load([Fixtures.TextIds].self, "reference/texts.json")
        XCTAssertGreaterThanOrEqual(reference.count, 200)
        for name in Fixtures.models {
            let tokenizer = try CLIPTokenizer(directory: Fixtures.model(name))
            var mismatches = 0
            for item in reference {
                let ids = tokenizer.encode(item.text)
                if ids != item.ids {
                    mismatches += 1
                    if mismatches <= 5 { XCTFail("\(name): \(item.text.debugDescription)\n got \(ids)\nwant \(item.ids)") }
                }
            }
            XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) of \(reference.count) texts differ")
        }
    }

    func testTruncatesTo77WithEndToken() throws {
        let tokenizer = try CLIPTokenizer(directory: Fixtures.model("clip-tiny-f32"))
        let ids = tokenizer.encode(String(repeating: "word ", count: 200))
        XCTAssertEqual(ids.count, 77)
        XCTAssertEqual(ids.first, tokenizer.bosTokenId)
        XCTAssertEqual(ids.last, tokenizer.eosTokenId)
        XCTAssertEqual(tokenizer.encode(""), [tokenizer.bosTokenId, tokenizer.eosTokenId])
    }

    func testMissingTokenizerFilesNameTheFolder() {
        let dir = NSTemporaryDirectory() + "glimpse-no-tokenizer-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertThrowsError(try CLIPTokenizer(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains(dir), "\(error)")
        }
    }

    func testCorruptTokenizerJSONIsAnError() throws {
        let dir = NSTemporaryDirectory() + "glimpse-bad-tokenizer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("{\"model\": ".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        XCTAssertThrowsError(try CLIPTokenizer(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.json"), "\(error)")
        }
    }
}

extension CLIPTokenizerTests {
    /// Lowercasing is per code point (no final-sigma rule), with full mappings, like the Rust tokenizer.
    func testLowercasingIsPerCodePoint() {
        XCTAssertEqual(CLIPPreTokenizer.normalize("ΣΑΣ"), "σασ")
        XCTAssertEqual(CLIPPreTokenizer.normalize("İ"), "i\u{307}")
        XCTAssertEqual(CLIPPreTokenizer.normalize("A\u{00A0}B\u{3000}\tC  D"), "a b c d")
        XCTAssertEqual(CLIPPreTokenizer.normalize("e\u{301}"), "é")
        // Ids from the Hugging Face fast tokenizer.
        let tokenizer = try! CLIPTokenizer(directory: Fixtures.model("clip-tiny-f32"))
        XCTAssertEqual(tokenizer.encode("ΣΑΣ"), [49406, 139, 225, 138, 109, 139, 481, 49407])
        XCTAssertEqual(tokenizer.encode("İstanbul"), [49406, 328, 16384, 11231, 49407])
        XCTAssertEqual(tokenizer.encode("ΣΑΣ ΟΔΟΣ"), [49406, 139, 225, 138, 109, 139, 481, 138, 123, 138, 112, 138, 123, 139, 481, 49407])
    }
}
