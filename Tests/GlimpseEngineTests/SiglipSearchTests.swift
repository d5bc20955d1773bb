import Foundation
import XCTest
import GlimpseModels
import GlimpseStore
@testable import GlimpseEngine

/// A SigLIP library indexes and searches like any other: cosine scores, and the model's own sigmoid probability on
/// text queries (none on image queries, and none for CLIP).
final class SiglipSearchTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    func testSiglipIndexesAndSearchesWithProbabilities() async throws {
        for model in ["siglip-tiny", "siglip2-tiny"] {
            let root = NSTemporaryDirectory() + "glimpse-siglip-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: root) }
            let folder = root + "/photos"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let photos = ["astronaut_baseline.jpg", "coffee_progressive.jpg", "rocket_444.jpg", "chelsea_palette.png", "camera_gray.jpg"]
            for name in photos { try FileManager.default.copyItem(atPath: Self.fixtures + "/images/" + name, toPath: folder + "/" + name) }
            let store = try EmbeddedStore(directory: root + "/library")
            let embedder = try Embedder(directory: Self.fixtures + "/models/" + model, fastDecode: false)
            let summary = try await Indexer(store: store, embedder: embedder, batchSize: 2).index(roots: [folder])
            XCTAssertEqual(summary.added, photos.count, model)
            let searcher = Searcher(store: store, embedder: embedder)
            for name in photos {
                let hits = try await searcher.search(imagePath: folder + "/" + name, limit: 2)
                XCTAssertEqual(hits.first?.path, folder + "/" + name, model)
                XCTAssertGreaterThanOrEqual(hits.first?.score ?? 0, 0.999, model)
                XCTAssertNil(hits.first?.probability, "\(model): image queries have no text–image probability")
            }
            let info = embedder.model.info
            let scale = try XCTUnwrap(info.logitScale), bias = try XCTUnwrap(info.logitBias)
            for query in ["a red flower", "两个孩子在一栋房子前面奔跑", "A ROCKET!"] {
                let hits = try await searcher.search(text: query, limit: photos.count)
                XCTAssertEqual(hits.count, photos.count, model)
                XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >), "\(model): best first")
                for hit in hits {
                    XCTAssertTrue((-1...1).contains(hit.score), "\(model): a cosine, \(hit.score)")
                    let p = try XCTUnwrap(hit.probability, model)
                    XCTAssertEqual(p, 1 / (1 + exp(-(hit.score * exp(scale) + bias))), accuracy: 1e-6, model)
                }
                // the text's embedding against the stored vectors: the same cosine the reference model would give
                let vector = embedder.embed(texts: [query])[0]
                let direct = try await store.nearest(to: vector, k: 1, minScore: nil, ef: nil, filter: nil)
                XCTAssertEqual(direct.first?.score ?? -2, hits[0].score, accuracy: 1e-5, model)
            }
        }
    }

    func testClipHasNoProbability() async throws {
        let info = try ModelLoader.load(directory: Self.fixtures + "/models/clip-tiny-f32").info
        XCTAssertNil(info.logitScale)
        XCTAssertNil(info.probability(cosine: 0.3))
    }
}
