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

extension CLIPTokenizerTests {
    /// encode stops once it has maxLength - 2 content tokens: a megabyte of text gives the ids of its first
    /// few hundred characters, truncated.
    func testVeryLongTextGivesTheIdsOfItsBeginning() throws {
        let tokenizer = try CLIPTokenizer(directory: Fixtures.model("clip-tiny-f32"))
        let sentence = "A photo of Ünïcode cats, dogs & 42 birds — it's <|endoftext|> the ΣΑΣ test!\u{3000}\t"
        var text = ""
        while text.utf8.count < 1 << 20 { text += sentence }
        let prefix = String(text.prefix(600))
        let expected = tokenizer.encodeWhole(prefix)
        XCTAssertEqual(expected.count, tokenizer.maxLength)
        let start = Date()
        XCTAssertEqual(tokenizer.encode(text), expected)
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0, "encode of 1 MB should not read the whole text")
        // Whitespace-free and single-run texts too.
        let letters = String(repeating: "abc", count: 2000)
        XCTAssertEqual(tokenizer.encode(letters), tokenizer.encodeWhole(letters))
    }

    /// The early-stopping encode equals the whole-text definition on the reference texts and on texts cut at
    /// every chunk boundary the scan might choose.
    func testEarlyStoppingEncodeEqualsWholeTextEncode() throws {
        let tokenizer = try CLIPTokenizer(directory: Fixtures.model("clip-tiny-f32"))
        let reference = try Fixtures.load([Fixtures.TextIds].self, "reference/texts.json")
        for item in reference { XCTAssertEqual(tokenizer.encode(item.text), tokenizer.encodeWhole(item.text), item.text) }
        let filler = String(repeating: "x", count: 250)
        for tail in [" e\u{301}te", "\u{2000}\u{301}a", "  'll go", " <|endoftext|>z", "\t\u{0085}ÉCOLE", " don't"] {
            for pad in 0..<8 {
                let text = String(repeating: "y", count: pad) + filler + tail + " " + filler + tail
                XCTAssertEqual(tokenizer.encode(text), tokenizer.encodeWhole(text), text.debugDescription)
            }
        }
    }

    /// A tokenizer.json whose truncation.max_length is below 2 used to trap in encode (removeLast of a
    /// negative count); it is now a load error naming the file.
    func testTruncationMaxLengthBelowTwoIsALoadError() throws {
        let dir = NSTemporaryDirectory() + "glimpse-short-tokenizer-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let source = Fixtures.model("clip-tiny-f32") + "/tokenizer.json"
        var root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: source))) as! [String: Any]
        root["truncation"] = ["max_length": 1]
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: dir + "/tokenizer.json"))
        XCTAssertThrowsError(try CLIPTokenizer(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.json") && "\(error)".contains("maximum length 1"), "\(error)")
        }
    }
}
