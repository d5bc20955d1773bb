import Foundation
import GlimpseImage
import GlimpseIndex
import GlimpseModels
import GlimpseStore
import XCTest
@testable import GlimpseEngine

/// A library built with a CLIP model answers queries through another text model trained into its space
/// (`--text-model`), with no re-indexing, and with the reference embedding's ranking.
final class MultilingualSearchTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    struct Reference: Decodable {
        struct Text: Decodable { let text: String; let embedding: [Float] }
        let texts: [Text]
    }

    func testLibraryOfOneModelAnswersQueriesThroughAMultilingualTextModel() async throws {
        let root = NSTemporaryDirectory() + "glimpse-multilingual-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = root + "/photos"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let photos = ["astronaut_baseline.jpg", "coffee_progressive.jpg", "rocket_444.jpg", "chelsea_palette.png",
                      "coffee_lossy.webp", "camera_gray.jpg", "moon_gray.png", "coins_gray_trns.png"]
        for name in photos { try FileManager.default.copyItem(atPath: Self.fixtures + "/images/" + name, toPath: folder + "/" + name) }
        let store = try EmbeddedStore(directory: root + "/library")
        let library = store.library
        let clip = try ModelLoader.load(directory: Self.fixtures + "/models/clip-tiny-f32")
        let summary = try await Indexer(store: store, embedder: try Embedder(model: clip, fastDecode: false), batchSize: 4).index(roots: [folder])
        XCTAssertEqual(summary.added, photos.count)

        // Queries now go through the multilingual sentence encoder; the library is not touched again.
        let textModel = try ModelLoader.load(directory: Self.fixtures + "/models/st-distilbert-multilingual")
        let embedder = try Embedder(model: clip, textModel: textModel)
        XCTAssertTrue(embedder.text === textModel.textEncoder!)
        let searcher = Searcher(store: store, embedder: embedder)
        let generation = try library.generation()

        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/reference/st-distilbert-multilingual.json")))
        let queries = ["两个孩子在一栋房子前面奔跑", "一朵红花", "a red flower"]
        var vectors: [(id: Int64, embedding: [Float])] = []
        try library.forEachEmbedding { vectors.append(($0, $1)) }
        for query in queries {
            let expected = try XCTUnwrap(reference.texts.first { $0.text == query }, "reference lacks \(query)").embedding
            let hits = try await searcher.search(text: query, limit: photos.count)
            XCTAssertEqual(hits.count, photos.count, query)
            // The ranking the reference embedding gives over the library's own vectors.
            let unit = normalized(expected)
            let ranked = vectors.map { (id: $0.id, score: zip(unit, $0.embedding).reduce(Float(0)) { $0 + $1.0 * $1.1 }) }
                .sorted { $0.score > $1.score }
            XCTAssertEqual(hits.map(\.image.id), ranked.map(\.id), query)
            for (hit, r) in zip(hits, ranked) { XCTAssertEqual(hit.score, r.score, accuracy: 1e-4, query) }
        }
        XCTAssertEqual(try library.generation(), generation, "searching must not write")
    }

    func testATextModelOfAnotherSizeIsAClearError() throws {
        let clip = try ModelLoader.load(directory: Self.fixtures + "/models/clip-tiny-f32")
        let other = try ModelLoader.load(directory: Self.fixtures + "/models/st-xlmr-cls-dense")
        XCTAssertThrowsError(try Embedder(model: clip, textModel: other)) { error in
            XCTAssertTrue("\(error)".contains("24") && "\(error)".contains("16") && "\(error)".contains("st-xlmr-cls-dense"), "\(error)")
        }
        let textOnly = try ModelLoader.load(directory: Self.fixtures + "/models/st-bert-mean-normalize")
        XCTAssertThrowsError(try Embedder(model: textOnly)) { error in
            XCTAssertTrue("\(error)".contains("text-only"), "\(error)")
        }
    }

    func testChineseCLIPIndexesAndSearchesEndToEnd() async throws {
        let root = NSTemporaryDirectory() + "glimpse-chinese-clip-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let folder = root + "/photos"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let photos = ["astronaut_baseline.jpg", "coffee_progressive.jpg", "rocket_444.jpg", "chelsea_palette.png"]
        for name in photos { try FileManager.default.copyItem(atPath: Self.fixtures + "/images/" + name, toPath: folder + "/" + name) }
        let store = try EmbeddedStore(directory: root + "/library")
        let embedder = try Embedder(directory: Self.fixtures + "/models/chinese-clip-tiny", fastDecode: false)
        let summary = try await Indexer(store: store, embedder: embedder, batchSize: 3).index(roots: [folder])
        XCTAssertEqual(summary.added, photos.count)
        let searcher = Searcher(store: store, embedder: embedder)
        for name in photos {
            let hits = try await searcher.search(imagePath: folder + "/" + name, limit: 2)
            XCTAssertEqual(hits.first?.path, folder + "/" + name)
            XCTAssertGreaterThanOrEqual(hits.first?.score ?? 0, 0.999)
        }
        let hits = try await searcher.search(text: "两个孩子在一栋房子前面奔跑", limit: 4)
        XCTAssertEqual(hits.count, 4)
        XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >))
    }
}
