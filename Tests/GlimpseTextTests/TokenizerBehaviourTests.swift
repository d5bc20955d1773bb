import Foundation
import XCTest
@testable import GlimpseText

/// Truncation, early stop, added tokens and errors of the tokenizer pipeline.
final class TokenizerBehaviourTests: XCTestCase {
    static let fixtures = TokenizerParityTests.fixtures

    /// A very long text costs what its kept tokens cost, and truncation keeps the special tokens.
    func testLongTextsStopEarlyWithTheSameIds() throws {
        for name in ["bert-uncased", "xlmr-unigram", "gpt2-bytelevel", "gemma-bytefallback"] {
            let tokenizer = try Tokenizer(directory: Self.fixtures + "/tokenizers/\(name)")
            let sentence = "two children running in front of a house 两个孩子 "
            let long = String(repeating: sentence, count: 5_000)   // ≈ 270 KB
            let full = tokenizer.encode(String(repeating: sentence, count: 20))
            let truncated = tokenizer.encode(long, maxLength: 32)
            XCTAssertEqual(truncated.count, 32, name)
            let specials = tokenizer.encode("").count
            // The kept content tokens are the first ones of the untruncated encoding; the last special token stays.
            XCTAssertEqual(Array(truncated.prefix(32 - 1)), Array(full.prefix(32 - 1)), name)
            if specials == 2 { XCTAssertEqual(truncated.last, full.last, name) }
        }
    }

    func testSpecialTokensInTextKeepTheirIds() throws {
        let bert = try Tokenizer(directory: Self.fixtures + "/tokenizers/bert-uncased")
        let sep = try XCTUnwrap(bert.id(of: "[SEP]"))
        let ids = bert.encode("hello [SEP] world")
        XCTAssertEqual(ids.filter { $0 == sep }.count, 2)
        XCTAssertEqual(bert.decode(ids), "hello world")
        XCTAssertEqual(bert.decode(ids, skipSpecialTokens: false), "[CLS] hello [SEP] world [SEP]")
        let clip = try Tokenizer(directory: Self.fixtures + "/models/clip-tiny-f32")
        XCTAssertEqual(clip.encode("a <|endoftext|> b", maxLength: 77).filter { $0 == 49407 }.count, 2)
    }

    func testModelMaxLengthComesFromTheConfig() throws {
        XCTAssertEqual(try Tokenizer(directory: Self.fixtures + "/tokenizers/bert-uncased").modelMaxLength, 128)
        XCTAssertEqual(try Tokenizer(directory: Self.fixtures + "/models/clip-tiny-f32").modelMaxLength, 77)
        let xlmr = try Tokenizer(directory: Self.fixtures + "/tokenizers/xlmr-unigram")
        XCTAssertEqual(xlmr.modelType, "Unigram")
        XCTAssertEqual(xlmr.padTokenId, 1)
        XCTAssertTrue(xlmr.summary.contains("Precompiled") && xlmr.summary.contains("Metaspace"), xlmr.summary)
    }

    func testMalformedFilesAreErrorsNamingTheFileAndTheComponent() throws {
        let cases: [(String, String)] = [
            ("not json", "not a JSON object"),
            (#"{"normalizer": null}"#, "model"),
            (#"{"model": {"type": "Mystery"}}"#, "Mystery"),
            (#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}}"#, "merge 0"),
            (#"{"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}}"#, "vocab"),
            (#"{"model": {"type": "Unigram", "vocab": [["a"]]}}"#, "vocab entry 0"),
            (#"{"model": {"type": "Unigram", "vocab": [["a", -1.0]], "unk_id": 7}}"#, "unk_id"),
            (#"{"normalizer": {"type": "Replace", "pattern": {"Regex": "("}, "content": ""}, "model": {"type": "WordPiece", "vocab": {}}}"#, "regex"),
            (#"{"pre_tokenizer": {"type": "Quantum"}, "model": {"type": "WordPiece", "vocab": {}}}"#, "Quantum"),
            (#"{"normalizer": {"type": "Precompiled", "precompiled_charsmap": "AAAA/w=="}, "model": {"type": "WordPiece", "vocab": {}}}"#, "precompiled_charsmap"),
            (#"{"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "[X]"}}]}, "model": {"type": "WordPiece", "vocab": {}}}"#, "[X]"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try Tokenizer(data: Data(json.utf8), source: "/models/m/tokenizer.json"), json) { error in
                XCTAssertTrue("\(error)".contains("/models/m/tokenizer.json") && "\(error)".contains(expected), "\(json): \(error)")
            }
        }
        XCTAssertThrowsError(try Tokenizer(directory: "/nonexistent")) { XCTAssertTrue("\($0)".contains("vocab.txt"), "\($0)") }
    }
}
