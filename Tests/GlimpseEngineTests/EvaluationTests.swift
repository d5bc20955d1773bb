import Foundation
import GlimpseStore
import XCTest
@testable import GlimpseEngine

/// `glimpse eval`'s parts: every dataset layout, LAION clip_benchmark's metrics (against make_eval_fixtures.py's
/// reference, ties included), and rank fusion.
final class EvaluationTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static func eval(_ name: String) -> String { fixtures + "/eval/" + name }

    struct MetricReference: Decodable {
        struct Direction: Decodable {
            let recall: [String: Double]
            let mrr: Double
            let median_rank: Double
            let ranks: [Int]
            enum CodingKeys: String, CodingKey { case mrr, median_rank, ranks }
            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                mrr = try c.decode(Double.self, forKey: .mrr); median_rank = try c.decode(Double.self, forKey: .median_rank)
                ranks = try c.decode([Int].self, forKey: .ranks)
                let all = try decoder.container(keyedBy: AnyKey.self)
                recall = Dictionary(uniqueKeysWithValues: try all.allKeys.filter { $0.stringValue.hasPrefix("recall@") }
                    .map { ($0.stringValue, try all.decode(Double.self, forKey: $0)) })
            }
        }
        struct AnyKey: CodingKey {
            var stringValue: String; var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        let texts: [[Float]], images: [[Float]], text_image: [Int], ks: [Int]
        let text_to_image: Direction, image_to_text: Direction
    }

    func testMetricsMatchClipBenchmarkIncludingTies() throws {
        let reference = try JSONDecoder().decode(MetricReference.self, from: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/reference/eval-metrics.json")))
        let scores = ScoreMatrix(queries: reference.texts, candidates: reference.images.map { Optional($0) })
        // The fixture really has ties: equal scores within a row.
        XCTAssertLessThan(Set(scores.row(0)).count, reference.images.count)
        let textRanks = reference.texts.indices.map {
            RetrievalMetrics.firstPositiveRank(scores: scores.row($0), positives: [reference.text_image[$0]])
        }
        let transposed = scores.transposed()
        let imageRanks = reference.images.indices.map { i in
            RetrievalMetrics.firstPositiveRank(scores: transposed.row(i), positives: reference.text_image.indices.filter { reference.text_image[$0] == i })
        }
        for (ranks, expected) in [(textRanks, reference.text_to_image), (imageRanks, reference.image_to_text)] {
            XCTAssertEqual(ranks, expected.ranks)
            let summary = RetrievalMetrics.summarize(ranks: ranks, ks: reference.ks)
            for k in reference.ks {
                // clip_benchmark averages in float32.
                XCTAssertEqual(summary.recall[k]!, expected.recall["recall@\(k)"]!, accuracy: 1e-6, "recall@\(k)")
            }
            XCTAssertEqual(summary.meanReciprocalRank, expected.mrr, accuracy: 1e-12)
            XCTAssertEqual(summary.medianRank, expected.median_rank)
        }
    }

    func testEveryLayoutReadsTheSameDataset() throws {
        let flickr = try EvalDataset.load(file: Self.eval("flickr30k_test_karpathy.txt"))
        XCTAssertEqual(flickr.images.count, 10)
        XCTAssertEqual(flickr.captions.count, 21)
        XCTAssertTrue(flickr.captions.contains("An astronaut in a white suit, smiling"), "a caption keeps its commas")
        XCTAssertEqual(flickr.captionImage.filter { $0 == 2 }.count, 4, "an image with four captions")
        for file in ["coco_test_karpathy.json", "dataset_karpathy.json", "captions.csv", "captions.tsv"] {
            let other = try EvalDataset.load(file: Self.eval(file))
            XCTAssertEqual(other.images, flickr.images, file)
            // COCO groups captions by image; within an image the file's order is kept.
            XCTAssertEqual(Set(zip(other.captions, other.captionImage).map { "\($1)|\($0)" }),
                           Set(zip(flickr.captions, flickr.captionImage).map { "\($1)|\($0)" }), file)
        }
        let everything = try EvalDataset.load(file: Self.eval("dataset_karpathy.json"), split: nil)
        XCTAssertEqual(everything.images.count, 12, "without --split, train and val images count too")
        let val = try EvalDataset.load(file: Self.eval("dataset_karpathy.json"), split: "val")
        XCTAssertEqual(val.images, ["rocket_444.jpg"])

        let german = try EvalDataset.load(file: Self.eval("image_list.txt"), captionsFile: Self.eval("captions_de.txt"))
        XCTAssertEqual(german.images, flickr.images)
        XCTAssertEqual(german.captionImage, Array(0..<10))
        XCTAssertEqual(german.captions[4], "Die Oberfläche des Mondes")
    }

    func testCSVQuotingAndBadFilesAreClearErrors() throws {
        let dir = NSTemporaryDirectory() + "glimpse-eval-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let csv = dir + "/d.csv"
        try "caption,filename\n\"A \"\"quoted\"\" caption, with a comma\",a.jpg\n\"two\nlines\",b.jpg\nplain,a.jpg\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let dataset = try EvalDataset.load(file: csv)
        XCTAssertEqual(dataset.images, ["a.jpg", "b.jpg"])
        XCTAssertEqual(dataset.captions, ["A \"quoted\" caption, with a comma", "two\nlines", "plain"])
        XCTAssertEqual(dataset.captionImage, [0, 1, 0])

        func failure(_ file: String, _ contents: String, captions: String? = nil) -> String {
            try? contents.write(toFile: dir + "/" + file, atomically: true, encoding: .utf8)
            do { _ = try EvalDataset.load(file: dir + "/" + file, captionsFile: captions); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(failure("x.txt", "image,caption\nno comma here\n").contains("line 2"))
        XCTAssertTrue(failure("x.json", "{\"images\": [{\"filename\": \"a.jpg\", \"split\": \"test\"}]}").contains("sentences"))
        XCTAssertTrue(failure("y.json", "not json").contains("not valid JSON"))
        XCTAssertTrue(failure("x.parquet", "").contains("unknown dataset format"))
        XCTAssertTrue(failure("list.txt", "a.jpg\nb.jpg\n", captions: dir + "/missing.txt").contains("missing.txt"))
        try "one\ntwo\nthree\n".write(toFile: dir + "/three.txt", atomically: true, encoding: .utf8)
        XCTAssertTrue(failure("list2.txt", "a.jpg\nb.jpg\n", captions: dir + "/three.txt").contains("3 captions for 2 images"))
        XCTAssertTrue(failure("e.csv", "image,caption\n").contains("no images"))
        XCTAssertTrue(failure("n.json", "{\"images\": [{\"filename\": \"a.jpg\", \"split\": \"train\", \"sentences\": [{\"raw\": \"x\"}]}]}")
            .contains("split \"test\""))
    }

    func s(_ pairs: [(Int64, Float)]) -> [ScoredImage] { pairs.map { ScoredImage(id: $0.0, score: $0.1) } }

    func testReciprocalRankFusionOrdersBySummedReciprocalRanks() {
        let clip = s([(1, 0.9), (2, 0.8), (3, 0.7)])
        let caption = s([(3, 0.99), (2, 0.5), (4, 0.4)])
        // rrf(k=60): 2 → 1/62 + 1/62, 3 → 1/63 + 1/61, 1 → 1/61, 4 → 1/63.
        let fused = RankFusion.reciprocalRank(k: 60).fuse(clip: clip, caption: caption)
        XCTAssertEqual(fused.map(\.id), [3, 2, 1, 4])
        XCTAssertEqual(Double(fused[0].score), 1.0 / 63 + 1.0 / 61, accuracy: 1e-7)
        // With k = 0 the top of each ranking dominates: 3 (1/3 + 1) > 1 (1) > 2 (1/2 + 1/2 = 1, later in CLIP's order).
        XCTAssertEqual(RankFusion.reciprocalRank(k: 0).fuse(clip: clip, caption: caption).map(\.id), [3, 1, 2, 4])
        // A tie keeps the CLIP ranking's order.
        XCTAssertEqual(RankFusion.reciprocalRank().fuse(clip: s([(7, 1), (8, 0.5)]), caption: s([(8, 1), (7, 0.5)])).map(\.id), [7, 8])
    }

    func testWeightedScoreFusionNormalisesEachRanking() {
        // CLIP scores live in a narrow band, caption scores in a wide one: normalisation puts them on one scale.
        let clip = s([(1, 0.31), (2, 0.30), (3, 0.29)])
        let caption = s([(3, 0.9), (1, 0.1), (2, 0.0)])
        let even = RankFusion.weightedScore(clipWeight: 0.5).fuse(clip: clip, caption: caption)
        // 1: 0.5·1 + 0.5·(0.1/0.9); 3: 0.5·0 + 0.5·1; 2: 0.5·0.5 + 0.
        XCTAssertEqual(even.map(\.id), [1, 3, 2])
        XCTAssertEqual(Double(even[0].score), 0.5 + 0.5 * (0.1 / 0.9), accuracy: 1e-5)
        XCTAssertEqual(RankFusion.weightedScore(clipWeight: 1).fuse(clip: clip, caption: caption).map(\.id), [1, 2, 3])
        XCTAssertEqual(RankFusion.weightedScore(clipWeight: 0).fuse(clip: clip, caption: caption).map(\.id), [3, 1, 2])
        // An image only one ranking found counts 0 in the other.
        let partial = RankFusion.weightedScore(clipWeight: 0.5).fuse(clip: s([(1, 0.5), (2, 0.4)]), caption: s([(3, 0.8), (1, 0.2)]))
        XCTAssertEqual(partial.map(\.id), [1, 3, 2])
    }

    func testFusionNamesParse() {
        XCTAssertEqual(RankFusion("rrf"), .reciprocalRank(k: 60))
        XCTAssertEqual(RankFusion("rrf:10"), .reciprocalRank(k: 10))
        XCTAssertEqual(RankFusion("weighted:0.7"), .weightedScore(clipWeight: 0.7))
        XCTAssertNil(RankFusion("weighted:2"))
        XCTAssertNil(RankFusion("max"))
        XCTAssertEqual(RankFusion.default.name, "rrf:60")
    }
}
