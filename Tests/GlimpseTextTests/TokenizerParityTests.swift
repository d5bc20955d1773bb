import Foundation
import XCTest
@testable import GlimpseText

/// Every fixture tokenizer gives the ids, tokens and decodes of Hugging Face `tokenizers` on ≥ 300 tricky texts
/// (references made by Tests/Fixtures/make_text_fixtures.py).
final class TokenizerParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    struct Reference: Decodable {
        struct Text: Decodable {
            let text: String; let ids: [Int]; let tokens: [String]?; let decoded: String?
            let decoded_with_special: String?
        }
        struct Truncated: Decodable { let text: String; let max_length: Int; let ids: [Int] }
        let texts: [Text]
        let truncated: [Truncated]?
    }

    static let names = ["bert-uncased", "bert-cased", "bert-vocab-only", "bert-chinese", "xlmr-unigram", "gpt2-bytelevel", "gpt2-plain",
                        "gemma-bytefallback", "llama-prepend", "kitchen-sink-bpe", "kitchen-sink-nfkc", "wordpiece-nfc"]

    func reference(_ name: String) throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/reference/tokenizers/\(name).json")))
    }

    func check(_ name: String, _ tokenizer: Tokenizer, _ reference: Reference, file: StaticString = #filePath, line: UInt = #line) {
        var failures = 0, idMatches = 0, decodeMatches = 0
        for item in reference.texts {
            let encoding = tokenizer.encoding(item.text)
            if encoding.ids == item.ids { idMatches += 1 } else if failures < 8 {
                failures += 1
                XCTFail("\(name): ids of \(item.text.debugDescription)\n  expected \(item.ids)\n  actual   \(encoding.ids)\n  expected tokens \(item.tokens ?? [])\n  actual tokens   \(encoding.tokens)", file: file, line: line)
            }
            if let tokens = item.tokens, encoding.ids == item.ids, encoding.tokens != tokens, failures < 8 {
                failures += 1
                XCTFail("\(name): tokens of \(item.text.debugDescription)\n  expected \(tokens)\n  actual   \(encoding.tokens)", file: file, line: line)
            }
            if let decoded = item.decoded {
                let d = tokenizer.decode(item.ids)
                let ds = tokenizer.decode(item.ids, skipSpecialTokens: false)
                if d == decoded && ds == (item.decoded_with_special ?? ds) { decodeMatches += 1 } else if failures < 8 {
                    failures += 1
                    XCTFail("\(name): decode of \(item.ids)\n  expected \(decoded.debugDescription) / \((item.decoded_with_special ?? "").debugDescription)\n  actual   \(d.debugDescription) / \(ds.debugDescription)", file: file, line: line)
                }
            }
        }
        for item in reference.truncated ?? [] {
            let ids = tokenizer.encode(item.text, maxLength: item.max_length)
            if ids != item.ids, failures < 8 {
                failures += 1
                XCTFail("\(name): truncated to \(item.max_length): \(item.text.prefix(60).debugDescription)\n  expected \(item.ids)\n  actual   \(ids)", file: file, line: line)
            }
        }
        print("\(name): ids \(idMatches)/\(reference.texts.count), decodes \(decodeMatches)/\(reference.texts.count), truncated \(reference.truncated?.count ?? 0)")
    }

    func testEveryFixtureTokenizerMatchesTokenizers() throws {
        for name in Self.names {
            let tokenizer = try Tokenizer(directory: Self.fixtures + "/tokenizers/\(name)")
            let reference = try reference(name)
            XCTAssertGreaterThanOrEqual(reference.texts.count, 300, name)
            check(name, tokenizer, reference)
        }
    }

    /// CLIP's tokenizer is a configuration of the pipeline, from tokenizer.json or from vocab.json + merges.txt.
    func testCLIPTokenizerMatchesFromEitherFileLayout() throws {
        let reference = try reference("clip")
        for model in ["clip-tiny-f32", "clip-tiny-f16"] {
            let tokenizer = try Tokenizer(directory: Self.fixtures + "/models/\(model)")
            var mismatches = 0
            for item in reference.texts where tokenizer.encode(item.text, maxLength: 77) != item.ids {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(model): \(item.text.debugDescription)\n  expected \(item.ids)\n  actual   \(tokenizer.encode(item.text, maxLength: 77))") }
            }
            print("\(model): \(reference.texts.count - mismatches)/\(reference.texts.count) texts")
        }
    }
}
