import Foundation
import GlimpseModels
import GlimpseStore
import GlimpseTensor

/// One search path's results on a dataset.
public struct PathEvaluation: Sendable, Equatable {
    public var path: SearchPath
    /// Each caption as a query, its image the one correct answer.
    public var textToImage: RetrievalScores
    /// Each image as a query, any of its captions a correct answer.
    public var imageToText: RetrievalScores
    /// Median time of one text query through the product's search (embedding + store search for the top 10).
    public var millisecondsPerQuery: Double
}

/// What `glimpse eval` reports.
public struct EvalReport: Sendable, Equatable {
    public var images: Int
    public var captions: Int
    public var ks: [Int]
    public var paths: [PathEvaluation]
    /// Dataset images that could not be indexed (left out, with their captions).
    public var missing: [String]
}

/// Measures search paths on an image–text dataset the way LAION's clip_benchmark does (`zeroshot_retrieval`):
/// every caption queries the dataset's images, every image queries the captions, over exact scores of the stored
/// embeddings — CLIP image embeddings for the clip path, the images' caption embeddings for the caption path, and
/// for hybrid the two full rankings fused by the searcher's `RankFusion`.
public final class Evaluator: @unchecked Sendable {
    public let searcher: Searcher
    /// Queries timed through `Searcher.search` per path.
    public var timedQueries = 50

    public init(searcher: Searcher) { self.searcher = searcher }

    /// `imagePaths[i]` is where `dataset.images[i]` is stored (as indexed).
    public func evaluate(dataset: EvalDataset, imagePaths: [String], paths: [SearchPath], ks: [Int]) async throws -> EvalReport {
        let store = searcher.store
        let ids = Dictionary(try await store.fileStates().map { ($0.path, $0.id) }, uniquingKeysWith: { a, _ in a })
        // Images that made it into the store, and the captions of those.
        let kept = imagePaths.indices.filter { ids[imagePaths[$0]] != nil }
        let missing = imagePaths.indices.filter { ids[imagePaths[$0]] == nil }.map { dataset.images[$0] }
        let newIndex = Dictionary(uniqueKeysWithValues: kept.enumerated().map { ($1, $0) })
        let captionRows = dataset.captionImage.indices.filter { newIndex[dataset.captionImage[$0]] != nil }
        let texts = captionRows.map { dataset.captions[$0] }
        let owner = captionRows.map { newIndex[dataset.captionImage[$0]]! }
        let keptIds = kept.map { ids[imagePaths[$0]]! }

        var report = EvalReport(images: kept.count, captions: texts.count, ks: ks, paths: [], missing: missing)
        guard !kept.isEmpty, !texts.isEmpty else { return report }
        var positives = [[Int]](repeating: [], count: kept.count)       // image → its captions
        for (t, i) in owner.enumerated() { positives[i].append(t) }

        let needsCaptions = paths.contains { $0 != .clip }
        let queries = try searcher.embed(texts: texts, path: needsCaptions ? .hybrid : .clip)
        let records = try await store.images(ids: keptIds)
        let clipImages = keptIds.map { records[$0]?.vector ?? [] }
        var captionImages: [[Float]?] = []
        if needsCaptions {
            let stored = try await store.captionEmbeddings(ids: keptIds)
            captionImages = keptIds.map { stored[$0] }
        }
        for path in paths {
            let clip = path == .caption ? nil : ScoreMatrix(queries: queries.map { $0.clip! }, candidates: clipImages.map { Optional($0) })
            let caption = path == .clip ? nil : ScoreMatrix(queries: queries.map { $0.caption! }, candidates: captionImages)
            // Text → image: one positive per caption.
            var textRanks: [Int] = []
            textRanks.reserveCapacity(texts.count)
            for t in texts.indices {
                textRanks.append(rank(clip: clip?.row(t), caption: caption?.row(t), positives: [owner[t]], path: path))
            }
            // Image → text: the transposed scores, every caption of the image a positive.
            let clipT = clip?.transposed(), captionT = caption?.transposed()
            var imageRanks: [Int] = []
            for i in kept.indices {
                imageRanks.append(rank(clip: clipT?.row(i), caption: captionT?.row(i), positives: positives[i], path: path))
            }
            report.paths.append(PathEvaluation(
                path: path, textToImage: RetrievalMetrics.summarize(ranks: textRanks, ks: ks),
                imageToText: RetrievalMetrics.summarize(ranks: imageRanks, ks: ks),
                millisecondsPerQuery: try await timeQueries(texts, path: path)))
        }
        return report
    }

    /// The first-positive rank of one query along `path`.
    func rank(clip: [Float]?, caption: [Float]?, positives: [Int], path: SearchPath) -> Int {
        switch path {
        case .clip: return RetrievalMetrics.firstPositiveRank(scores: clip!, positives: positives)
        case .caption: return RetrievalMetrics.firstPositiveRank(scores: caption!, positives: positives)
        case .hybrid:
            let fused = searcher.fusion.fuse(clip: Self.ranking(clip!), caption: Self.ranking(caption!))
            let wanted = Set(positives.map(Int64.init))
            return (fused.firstIndex { wanted.contains($0.id) } ?? fused.count) + 1
        }
    }

    /// Candidates best first, ties in index order; the id is the candidate's index.
    static func ranking(_ scores: [Float]) -> [ScoredImage] {
        scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
            .map { ScoredImage(id: Int64($0), score: scores[$0]) }
    }

    /// Median milliseconds of a text search for the top 10 through the product's search path.
    func timeQueries(_ texts: [String], path: SearchPath) async throws -> Double {
        let sample = stride(from: 0, to: texts.count, by: max(1, texts.count / timedQueries)).prefix(timedQueries).map { texts[$0] }
        var times: [Double] = []
        for text in sample {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await searcher.search(text: text, limit: 10, path: path)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        times.sort()
        return times.isEmpty ? 0 : times[times.count / 2]
    }
}

/// Cosine scores of queries against candidates (both L2-normalised): (Q, N) row-major, one GEMM. A candidate
/// without a vector (an image whose caption failed) scores -2, below every real score.
struct ScoreMatrix {
    let rows: Int, columns: Int
    let values: [Float]

    init(rows: Int, columns: Int, values: [Float]) { self.rows = rows; self.columns = columns; self.values = values }

    init(queries: [[Float]], candidates: [[Float]?]) {
        let d = queries.first?.count ?? 0, Q = queries.count, N = candidates.count
        let q = queries.flatMap { $0 }
        let c = candidates.flatMap { $0 ?? [Float](repeating: 0, count: d) }
        var out = [Float](repeating: 0, count: Q * N)
        if d > 0 && Q > 0 && N > 0 {
            out.withUnsafeMutableBufferPointer { o in
                q.withUnsafeBufferPointer { qp in
                    c.withUnsafeBufferPointer { cp in
                        linear(o.baseAddress!, qp.baseAddress!, weight: cp.baseAddress!, bias: nil, rows: Q, inFeatures: d, outFeatures: N)
                    }
                }
            }
        }
        for (j, candidate) in candidates.enumerated() where candidate == nil {
            for i in 0..<Q { out[i * N + j] = -2 }
        }
        self.init(rows: Q, columns: N, values: out)
    }

    func row(_ i: Int) -> [Float] { Array(values[(i * columns)..<((i + 1) * columns)]) }

    func transposed() -> ScoreMatrix {
        var out = [Float](repeating: 0, count: values.count)
        for i in 0..<rows { for j in 0..<columns { out[j * rows + i] = values[i * columns + j] } }
        return ScoreMatrix(rows: columns, columns: rows, values: out)
    }
}
