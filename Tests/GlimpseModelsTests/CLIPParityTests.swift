import XCTest
import GlimpseTensor
@testable import GlimpseModels

/// Embeddings agree with transformers' on the fixture models (F32 and F16 checkpoints).
final class CLIPParityTests: XCTestCase {
    func testTextEmbeddingsMatchReference() throws {
        for name in Fixtures.models {
            let model = try CLIPModel(directory: Fixtures.model(name))
            let reference = try Fixtures.load(Fixtures.ModelReference.self, "reference/\(name).json")
            XCTAssertGreaterThanOrEqual(reference.texts.count, 200)
            var worst = 1.0
            for item in reference.texts {
                let c = cosine(model.embed(text: item.text), item.embedding)
                worst = min(worst, c)
                XCTAssertGreaterThanOrEqual(c, 0.99999, "\(name): \(item.text.debugDescription)")
            }
            print("\(name): worst text cosine \(worst)")
        }
    }

    func testImageEmbeddingsMatchReference() throws {
        for name in Fixtures.models {
            let exact = try FileEmbedder(directory: Fixtures.model(name), fastDecode: false)
            let fast = try FileEmbedder(directory: Fixtures.model(name), fastDecode: true)
            let reference = try Fixtures.load(Fixtures.ModelReference.self, "reference/\(name).json")
            let paths = reference.images.map { Fixtures.path($0.file) }
            let exactResults = exact.embed(imagePaths: paths, batchSize: 7)
            let fastResults = fast.embed(imagePaths: paths, batchSize: 32)
            for (i, item) in reference.images.enumerated() {
                let threshold = item.cmyk == true ? 0.99 : 0.9999
                let e = try exactResults[i].get()
                let c = cosine(e, item.embedding)
                XCTAssertGreaterThanOrEqual(c, threshold, "\(name) exact: \(item.file)")
                let f = try fastResults[i].get()
                let cf = cosine(f, item.embedding)
                XCTAssertGreaterThanOrEqual(cf, item.large == true ? 0.999 : threshold, "\(name) fast: \(item.file)")
                print("\(name) \(item.file): exact \(c) fast \(cf)")
            }
        }
    }

    /// A batch of texts of different lengths gives the same embeddings as one text at a time.
    func testBatchedTextsMatchSingleTexts() throws {
        for name in Fixtures.models {
            let model = try CLIPModel(directory: Fixtures.model(name))
            let texts = ["a cat", "", "two children running in front of a house at sunset", "一朵红花", "a <|endoftext|> b",
                         String(repeating: "long ", count: 100)]
            let batched = model.embed(texts: texts)
            for (text, vector) in zip(texts, batched) {
                XCTAssertGreaterThan(cosine(vector, model.embed(text: text)), 0.999999, "\(name): \(text)")
            }
        }
    }

    /// A batch gives the same embeddings as one image at a time.
    func testBatchingDoesNotChangeResults() throws {
        let embedder = try FileEmbedder(directory: Fixtures.model("clip-tiny-f32"))
        let paths = ["images/astronaut_baseline.jpg", "images/rocket_444.jpg", "images/chelsea_palette.png"].map(Fixtures.path)
        let batched = embedder.embed(imagePaths: paths, batchSize: 3)
        for (i, path) in paths.enumerated() {
            let single = try embedder.embed(imagePaths: [path], batchSize: 1)[0].get()
            XCTAssertGreaterThan(cosine(single, try batched[i].get()), 0.999999)
        }
    }

    func testBrokenFilesGiveErrorsAndOthersStillEmbed() throws {
        let embedder = try FileEmbedder(directory: Fixtures.model("clip-tiny-f32"))
        let broken = ["images/broken/empty.png", "images/broken/truncated.jpg", "images/broken/notes.png", "images/does-not-exist.jpg"]
        let paths = [Fixtures.path("images/rocket_444.jpg")] + broken.map(Fixtures.path)
        let results = embedder.embed(imagePaths: paths)
        XCTAssertNoThrow(try results[0].get())
        for (i, name) in broken.enumerated() {
            XCTAssertThrowsError(try results[i + 1].get(), name) { error in
                XCTAssertTrue("\(error)".contains((name as NSString).lastPathComponent), "\(error)")
            }
        }
    }

    func testBF16StaysCloseToFP32() throws {
        let model = try CLIPModel(directory: Fixtures.model("clip-tiny-f32"))
        let reference = try Fixtures.load(Fixtures.ModelReference.self, "reference/clip-tiny-f32.json")
        model.setPrecision(.bf16)
        for item in reference.texts.prefix(50) {
            XCTAssertGreaterThanOrEqual(cosine(model.embed(text: item.text), item.embedding), 0.999, item.text)
        }
        let embedder = try FileEmbedder(directory: Fixtures.model("clip-tiny-f32"), precision: .bf16, fastDecode: false)
        let results = embedder.embed(imagePaths: reference.images.map { Fixtures.path($0.file) })
        for (item, result) in zip(reference.images, results) where item.cmyk != true {
            XCTAssertGreaterThanOrEqual(cosine(try result.get(), item.embedding), 0.999, item.file)
        }
    }
}
