import Foundation
import XCTest
import GlimpseTensor
import GlimpseText
@testable import GlimpseModels

/// SigLIP (v1: spiece.model) and SigLIP 2 (Gemma-shaped tokenizer.json) agree with transformers on the tiny random
/// SiglipModels of make_siglip_fixtures.py: identical padded ids on every multilingual text, text cosine ≥ 0.99999,
/// image cosine ≥ 0.9999, and the model's own sigmoid probabilities.
final class SiglipParityTests: XCTestCase {
    struct Reference: Decodable {
        struct Text: Decodable { let text: String; let ids: [Int]; let embedding: [Float] }
        struct Probability: Decodable { let text: Int; let image: Int; let probability: Float }
        let logit_scale: Float
        let logit_bias: Float
        let texts: [Text]
        let images: [Fixtures.ImageEmbedding]
        let probabilities: [Probability]
    }
    struct TokenReference: Decodable {
        struct Text: Decodable { let text: String; let ids: [Int] }
        let texts: [Text]
    }

    static let models = ["siglip-tiny", "siglip2-tiny"]

    func testTokenIdsMatchTransformersOnEveryMultilingualText() throws {
        for name in Self.models {
            let model = try ModelLoader.load(directory: Fixtures.model(name))
            let encoder = try XCTUnwrap(model.textEncoder)
            XCTAssertEqual(encoder.maxTokens, 64, name)
            let reference = try Fixtures.load(TokenReference.self, "reference/tokenizers/\(name).json")
            XCTAssertGreaterThan(reference.texts.count, 400)
            var mismatches = 0
            for item in reference.texts {
                let ids = encoder.tokenize(item.text)
                XCTAssertEqual(ids.count, 64, "\(name): padded to the fixed length")
                if ids != item.ids {
                    mismatches += 1
                    if mismatches <= 10 { XCTFail("\(name): ids of \(item.text.debugDescription): \(ids) != \(item.ids)") }
                }
            }
            XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) of \(reference.texts.count) texts differ")
        }
    }

    func testModelInfoNamesSiglip() throws {
        let v1 = try ModelLoader.load(directory: Fixtures.model("siglip-tiny")).info
        XCTAssertEqual(v1.family, "SigLIP")
        XCTAssertEqual(v1.modelType, "siglip")
        XCTAssertEqual(v1.towers, ["text", "image"])
        XCTAssertEqual(v1.textDimension, 32)
        XCTAssertEqual(v1.imageSize, 64)
        XCTAssertEqual(v1.tokenizerType, "Unigram")
        XCTAssertEqual(v1.maxTokens, 64)
        let v2 = try ModelLoader.load(directory: Fixtures.model("siglip2-tiny")).info
        XCTAssertEqual(v2.textDimension, 48)
        XCTAssertEqual(v2.imageDimension, 48)
        XCTAssertEqual(v2.tokenizerType, "BPE")
        XCTAssertNotNil(v2.logitScale)
    }

    func testTextsImagesAndProbabilitiesMatchTransformers() throws {
        for name in Self.models {
            let model = try ModelLoader.load(directory: Fixtures.model(name))
            let text = try XCTUnwrap(model.textEncoder)
            let reference = try Fixtures.load(Reference.self, "reference/\(name).json")
            XCTAssertEqual(model.info.logitScale ?? .nan, reference.logit_scale, accuracy: 1e-6)
            XCTAssertEqual(model.info.logitBias ?? .nan, reference.logit_bias, accuracy: 1e-6)
            var worstText = 1.0
            let batched = text.embed(texts: reference.texts.map(\.text))
            for (item, vector) in zip(reference.texts, batched) {
                XCTAssertEqual(text.tokenize(item.text), item.ids, "\(name): ids of \(item.text.debugDescription)")
                let c = cosine(vector, item.embedding), alone = cosine(text.embed(text: item.text), item.embedding)
                worstText = min(worstText, c, alone)
                XCTAssertGreaterThanOrEqual(min(c, alone), 0.99999, "\(name): \(item.text.debugDescription)")
            }
            let embedder = try FileEmbedder(directory: Fixtures.model(name), fastDecode: false)
            let results = embedder.embed(imagePaths: reference.images.map { Fixtures.path($0.file) })
            var worstImage = 1.0
            var imageVectors: [[Float]] = []
            for (item, result) in zip(reference.images, results) {
                let vector = try result.get()
                imageVectors.append(vector)
                let c = cosine(vector, item.embedding)
                worstImage = min(worstImage, c)
                // CMYK JPEGs: libvips and Pillow convert CMYK to RGB differently (see the CLIP parity test).
                XCTAssertGreaterThanOrEqual(c, item.cmyk == true ? 0.9 : 0.9999, "\(name): \(item.file)")
            }
            for p in reference.probabilities {
                let cos = Float(cosine(batched[p.text], imageVectors[p.image]))
                XCTAssertEqual(try XCTUnwrap(model.info.probability(cosine: cos)), p.probability, accuracy: 2e-4, "\(name): probability \(p.text)×\(p.image)")
            }
            print("\(name): worst text cosine \(worstText) over \(reference.texts.count) texts, worst image cosine \(worstImage) over \(reference.images.count) images")
        }
    }
}

/// SigLIP folders that cannot work are refused with errors that name the file and say why.
final class SiglipLoadingErrorTests: XCTestCase {
    func copy(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let dir = NSTemporaryDirectory() + "glimpse-siglip-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Fixtures.model("siglip2-tiny"), toPath: dir)
        let url = URL(fileURLWithPath: dir + "/config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        return dir
    }

    func testNaFlexAndHeadlessAndMismatchedConfigsAreRefused() throws {
        let naflex = try copy { $0["model_type"] = "siglip2" }
        XCTAssertThrowsError(try ModelLoader.load(directory: naflex)) { error in
            XCTAssertTrue("\(error)".contains("config.json") && "\(error)".contains("NaFlex"), "\(error)")
        }
        let headless = try copy { c in var v = c["vision_config"] as! [String: Any]; v["vision_use_head"] = false; c["vision_config"] = v }
        XCTAssertThrowsError(try ModelLoader.load(directory: headless)) { XCTAssertTrue("\($0)".contains("vision_use_head"), "\($0)") }
        let mismatched = try copy { c in var t = c["text_config"] as! [String: Any]; t["projection_size"] = 40; c["text_config"] = t }
        XCTAssertThrowsError(try ModelLoader.load(directory: mismatched)) { XCTAssertTrue("\($0)".contains("projection_size"), "\($0)") }
        let noScale = NSTemporaryDirectory() + "glimpse-siglip-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Fixtures.model("siglip-tiny"), toPath: noScale)
        try FileManager.default.removeItem(atPath: noScale + "/spiece.model")
        XCTAssertThrowsError(try ModelLoader.load(directory: noScale)) { XCTAssertTrue("\($0)".contains("spiece.model"), "\($0)") }
    }
}

/// Where SigLIP pads: the tokenizer's side, as transformers resolves it.
final class SiglipPaddingSideTests: XCTestCase {
    func testPaddingFollowsTheTokenizerConfig() throws {
        let v2 = try XCTUnwrap(ModelLoader.load(directory: Fixtures.model("siglip2-tiny")).textEncoder)
        let left = v2.tokenize("a red flower")
        XCTAssertEqual(left.first, 0, "GemmaTokenizer pads on the left by default")
        XCTAssertEqual(left.last, 1, "the pooled last position is <eos>")
        let dir = NSTemporaryDirectory() + "glimpse-siglip-right-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: Fixtures.model("siglip2-tiny"), toPath: dir)
        let url = URL(fileURLWithPath: dir + "/tokenizer_config.json")
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        config["padding_side"] = "right"
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        let right = try XCTUnwrap(ModelLoader.load(directory: dir).textEncoder).tokenize("a red flower")
        let content = left.filter { $0 != 0 }
        XCTAssertEqual(right, content + Array(repeating: 0, count: 64 - content.count))
        let v1 = try XCTUnwrap(ModelLoader.load(directory: Fixtures.model("siglip-tiny")).textEncoder).tokenize("a red flower")
        XCTAssertEqual(v1.last, 1, "SiglipTokenizer pads on the right with </s>")
        XCTAssertNotEqual(v1.first, 1)
    }
}
