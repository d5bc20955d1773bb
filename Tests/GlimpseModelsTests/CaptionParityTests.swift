import Foundation
import GlimpseImage
import GlimpseModels
import GlimpseTensor
import XCTest

/// The ViT + GPT-2 captioner against transformers' `generate()` on the fixture model (make_caption_fixtures.py):
/// preprocessing, encoder states, first-step logits, and the generated ids for greedy and beam search under every
/// generation setting the reference exercises.
class CaptionParityTests: XCTestCase {
    struct Reference: Decodable {
        struct Preprocess: Decodable { let file: String; let pixel_values_first16: [Float]; let sum: Double }
        struct Encoder: Decodable { let file: String; let last_hidden_state: [[Float]] }
        struct Logits: Decodable { let file: String; let logits: [Float] }
        struct Case: Decodable {
            let name: String
            let params: [String: ParamValue]
            let images: [Generated]
        }
        struct Generated: Decodable { let file: String; let ids: [Int]; let text: String; let tied: Bool? }
        let preprocess: [Preprocess]
        let encoder: Encoder
        let first_step_logits: Logits
        let cases: [Case]
    }

    /// A generation parameter as JSON has it: a number, a bool or a string ("never").
    enum ParamValue: Decodable {
        case number(Double), flag(Bool), text(String)
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .flag(b) } else if let n = try? c.decode(Double.self) { self = .number(n) } else {
                self = .text(try c.decode(String.self))
            }
        }
        var json: Any {
            switch self { case let .number(n): n == n.rounded() ? Int(n) as Any : n as Any; case let .flag(b): b; case let .text(t): t }
        }
    }

    class var modelName: String { "vit-gpt2-tiny" }
    var modelName: String { type(of: self).modelName }
    lazy var reference: Reference = try! Fixtures.load(Reference.self, "reference/\(modelName).json")
    lazy var model: LoadedModel = try! ModelLoader.load(directory: Fixtures.model(modelName))

    func pixels(_ file: String) throws -> [Float] {
        try model.imagePreprocessor!.pixelValues(path: Fixtures.path(file), decoder: ImageDecoder(), fast: false)
    }

    func testLoadsAsACaptioner() throws {
        XCTAssertNotNil(model.captioner)
        XCTAssertNil(model.imageEncoder)
        XCTAssertEqual(model.info.towers, ["image", "caption"])
    }

    func testPreprocessingMatchesViTImageProcessor() throws {
        for item in reference.preprocess {
            let values = try pixels(item.file)
            for (a, b) in zip(values.prefix(16), item.pixel_values_first16) { XCTAssertEqual(a, b, accuracy: 1e-6, item.file) }
            XCTAssertEqual(values.reduce(0.0) { $0 + Double($1) }, item.sum, accuracy: 1e-3 * max(1, abs(item.sum)), item.file)
        }
    }

    func testEncoderStatesAndFirstStepLogitsMatchTransformers() throws {
        let model = try XCTUnwrap(self.model.captioner)
        let encoder = try XCTUnwrap((model as? VisionEncoderDecoder)?.encoder ?? (model as? BLIPCaptioner)?.encoder)
        let values = try pixels(reference.encoder.file)
        let states = values.withUnsafeBufferPointer { encoder.encode(pixels: $0.baseAddress!, batch: 1) }
        let expected = reference.encoder.last_hidden_state.flatMap { $0 }
        XCTAssertEqual(states.count, expected.count)
        XCTAssertGreaterThan(cosine(states.array, expected), 0.99999)
        for (a, b) in zip(states.array, expected) { XCTAssertEqual(a, b, accuracy: 1e-3) }

        // One decoder step from the start token (greedy = one row).
        var settings = model.generation
        settings.numBeams = 1; settings.maxLength = 2
        let logitsValues = try pixels(reference.first_step_logits.file)
        let generated = try logitsValues.withUnsafeBufferPointer { try model.generate(pixels: $0.baseAddress!, count: 1, settings: settings) }
        let expectedLogits = reference.first_step_logits.logits
        XCTAssertEqual(generated[0].ids.last, expectedLogits.indices.max { expectedLogits[$0] < expectedLogits[$1] })
    }

    func testGeneratedIdsMatchTransformersForEveryCase() throws {
        let captioner = try XCTUnwrap(model.captioner)
        var compared = 0, skipped = 0
        var cache: [String: [Float]] = [:]
        for testCase in reference.cases {
            var settings = captioner.generation
            let json = JSONConfig(path: "case \(testCase.name)", values: testCase.params.mapValues(\.json))
            try settings.apply(json)
            for image in testCase.images {
                // CMYK JPEGs decode loosely (Pillow's naive CMYK → RGB, see CONTRACT.md), so a random model's caption
                // of one may differ.
                if image.tied == true || image.file.contains("cmyk") { skipped += 1; continue }
                let values = try cache[image.file] ?? pixels(image.file)
                cache[image.file] = values
                let caption = try captioner.caption(pixels: values, count: 1, settings: settings)[0]
                XCTAssertEqual(caption.ids, image.ids, "\(testCase.name) on \(image.file)")
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 100)
        XCTAssertLessThan(skipped, compared / 4)
    }

    func testCaptionTextIsTheTokenizersDecode() throws {
        let captioner = try XCTUnwrap(model.captioner)
        let greedy = try XCTUnwrap(reference.cases.first { $0.name == "greedy" })
        var settings = captioner.generation
        settings.numBeams = 1
        for image in greedy.images.prefix(5) {
            let caption = try captioner.caption(pixels: pixels(image.file), count: 1, settings: settings)[0]
            XCTAssertEqual(caption.text, image.text.trimmingCharacters(in: .whitespaces), image.file)
        }
    }

    func testBatchedImagesCaptionAsOneAtATime() throws {
        let captioner = try XCTUnwrap(model.captioner)
        let files = Array(reference.cases[0].images.prefix(3).map(\.file))
        let single = try files.map { try captioner.caption(pixels: pixels($0), count: 1)[0] }
        let batch = try captioner.caption(pixels: files.flatMap { try pixels($0) }, count: files.count)
        XCTAssertEqual(single.map(\.ids), batch.map(\.ids))
        XCTAssertEqual(single.map(\.text), batch.map(\.text))
    }
}

/// The same checks on the BLIP fixture (BlipForConditionalGeneration: BLIP's ViT, a BERT decoder).
final class BLIPCaptionParityTests: CaptionParityTests {
    override class var modelName: String { "blip-tiny" }

    func testCaptionsStartAtDECAndEndAtSEP() throws {
        let captioner = try XCTUnwrap(model.captioner as? BLIPCaptioner)
        XCTAssertEqual(captioner.generation.startTokenId, captioner.tokenizer.id(of: "[DEC]"))
        XCTAssertEqual(captioner.generation.eosTokenIds, [captioner.tokenizer.id(of: "[SEP]")!])
    }
}
