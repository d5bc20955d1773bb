import Foundation

/// Retrieval quality of one direction (text → image or image → text) of one search path.
public struct RetrievalScores: Sendable, Equatable, Codable {
    /// recall@k for each k asked for: the fraction of queries with a correct item in the top k.
    public var recall: [Int: Double]
    /// Mean reciprocal rank of the first correct item.
    public var meanReciprocalRank: Double
    /// Median rank of the first correct item (1 = first); the mean of the middle two for an even count.
    public var medianRank: Double
}

/// LAION clip_benchmark's retrieval metrics (`zeroshot_retrieval.recall_at_k`): a query counts as found at k when
/// any of its positives is among its k best-scoring candidates. Ties are broken by candidate order (lower index
/// first, as a stable sort), which clip_benchmark's `torch.topk` leaves unspecified; without ties the two agree.
public enum RetrievalMetrics {
    /// The 1-based rank of the best-placed positive among `scores`: 1 + the candidates that score higher, or the
    /// same and come earlier.
    public static func firstPositiveRank(scores: UnsafeBufferPointer<Float>, positives: [Int]) -> Int {
        var best = Int.max
        for p in positives {
            let s = scores[p]
            var rank = 1
            for j in 0..<scores.count where scores[j] > s || (scores[j] == s && j < p) { rank += 1 }
            best = min(best, rank)
        }
        return best
    }

    public static func firstPositiveRank(scores: [Float], positives: [Int]) -> Int {
        scores.withUnsafeBufferPointer { firstPositiveRank(scores: $0, positives: positives) }
    }

    /// Recall@k, MRR and median rank from each query's first-positive rank.
    public static func summarize(ranks: [Int], ks: [Int]) -> RetrievalScores {
        guard !ranks.isEmpty else { return RetrievalScores(recall: Dictionary(uniqueKeysWithValues: ks.map { ($0, 0) }), meanReciprocalRank: 0, medianRank: 0) }
        let n = Double(ranks.count)
        var recall: [Int: Double] = [:]
        for k in ks { recall[k] = Double(ranks.filter { $0 <= k }.count) / n }
        let mrr = ranks.reduce(0.0) { $0 + 1 / Double($1) } / n
        let sorted = ranks.sorted()
        let median = sorted.count % 2 == 1 ? Double(sorted[sorted.count / 2])
                                           : Double(sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return RetrievalScores(recall: recall, meanReciprocalRank: mrr, medianRank: median)
    }
}
