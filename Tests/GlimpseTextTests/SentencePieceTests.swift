import Foundation
import XCTest
@testable import GlimpseText

/// SentencePiece model files read directly (SigLIP v1 ships only `spiece.model`): sentencepiece's own encoding on
/// every multilingual text, SiglipTokenizer's rules on top, and clear errors for damaged files.
final class SentencePieceTests: XCTestCase {
    static let fixtures = TokenizerParityTests.fixtures
    static let siglip = fixtures + "/models/siglip-tiny"

    func testEncodesLikeSentencePieceProcessor() throws {
        let file = try SentencePieceModelFile(contentsOf: Self.siglip + "/spiece.model")
        XCTAssertEqual(file.pieces.count, 1200)
        XCTAssertEqual(file.algorithm, .unigram)
        XCTAssertEqual(file.unkId, 2)
        XCTAssertEqual(file.normalizerName, "nmt_nfkc")
        XCTAssertFalse(file.precompiledCharsmap.isEmpty)
        let model = try SentencePieceModel(file: file, source: "spiece.model", siglip: nil)
        let reference = try JSONDecoder().decode(TokenizerParityTests.Reference.self, from: Data(contentsOf: URL(
            fileURLWithPath: Self.fixtures + "/reference/tokenizers/siglip-tiny-sentencepiece.json")))
        XCTAssertGreaterThan(reference.texts.count, 400)
        var mismatches = 0
        for item in reference.texts where model.encode(item.text).map(\.id) != item.ids {
            mismatches += 1
            if mismatches <= 5 { XCTFail("ids of \(item.text.debugDescription): \(model.encode(item.text).map(\.id)) != \(item.ids)") }
        }
        XCTAssertEqual(mismatches, 0)
    }

    func testSiglipCanonicalisation() {
        let rules = SiglipTextRules(eosId: 1)
        XCTAssertEqual(rules.canonicalize("  A Photo, of   a \"Cat\"!\t\n"), "a photo of a cat")
        XCTAssertEqual(rules.canonicalize("ΟΔΟΣ"), "οδος", "final sigma, as Python's str.lower")
        XCTAssertEqual(rules.canonicalize("İ"), "i\u{0307}")
        XCTAssertEqual(rules.canonicalize("a\u{1F}b\u{A0}c"), "a b c", "Python's str.isspace")
        XCTAssertEqual(rules.canonicalize("„Straße“ ‹x›"), "„straße“ ‹x›", "only ASCII punctuation goes")
    }

    func testSiglipTokenizerConfigPrefersSpieceOverTokenizerJSON() throws {
        let folder = NSTemporaryDirectory() + "glimpse-spm-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for name in ["spiece.model", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: Self.siglip + "/" + name, toPath: folder + "/" + name)
        }
        // a converted tokenizer.json cannot express SiglipTokenizer's canonicalisation: transformers ignores it, so do we
        try FileManager.default.copyItem(atPath: Self.fixtures + "/tokenizers/gpt2-plain/tokenizer.json", toPath: folder + "/tokenizer.json")
        let tokenizer = try Tokenizer(directory: folder)
        XCTAssertEqual(tokenizer.modelType, "Unigram")
        XCTAssertEqual(tokenizer.encode("A red flower!"), try Tokenizer(directory: Self.siglip).encode("a red flower"))
    }

    func testDamagedModelFilesNameTheFile() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.siglip + "/spiece.model"))
        for (label, bytes) in [("truncated", data.prefix(1000)), ("garbage", Data(repeating: 0xFF, count: 64)), ("empty", Data())] {
            XCTAssertThrowsError(try SentencePieceModelFile(data: bytes, source: "/x/spiece.model"), label) { error in
                XCTAssertTrue("\(error)".hasPrefix("/x/spiece.model: not a SentencePiece model"), "\(label): \(error)")
            }
        }
    }
}

/// `padding_side` from tokenizer_config.json, else transformers' class default.
final class PaddingSideTests: XCTestCase {
    func testPaddingSideResolution() throws {
        let source = TokenizerParityTests.fixtures + "/tokenizers/gemma-bytefallback"
        for (config, expected) in [(["tokenizer_class": "GemmaTokenizerFast"], Tokenizer.PaddingSide.left),
                                   (["tokenizer_class": "Siglip2Tokenizer"], .left), (["tokenizer_class": "TokenizersBackend"], .right),
                                   (["tokenizer_class": "GemmaTokenizer", "padding_side": "right"], .right),
                                   (["padding_side": "left"], .left), ([:], .right)] as [([String: String], Tokenizer.PaddingSide)] {
            let dir = NSTemporaryDirectory() + "glimpse-padding-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: dir) }
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: source + "/tokenizer.json", toPath: dir + "/tokenizer.json")
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
            XCTAssertEqual(try Tokenizer(directory: dir).paddingSide, expected, "\(config)")
        }
    }
}
