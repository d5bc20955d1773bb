import GlimpseStore

/// How a text query finds images.
public enum SearchPath: String, CaseIterable, Sendable, Codable {
    /// The query's CLIP text embedding against the images' CLIP embeddings.
    case clip
    /// The query's sentence embedding against the sentence embeddings of the images' captions.
    case caption
    /// Both rankings fused (`RankFusion`).
    case hybrid
}

/// How a hybrid search merges the CLIP ranking and the caption ranking into one.
public enum RankFusion: Sendable, Equatable {
    /// Reciprocal rank fusion (Cormack et al. 2009): Σ 1 / (k + rank) over the rankings an image appears in.
    /// Uses ranks only, so the two paths' incomparable score scales never matter. The default.
    case reciprocalRank(k: Double = 60)
    /// Weighted score fusion: each ranking's scores min-max normalised to [0, 1] over its candidates, then
    /// `clipWeight · clip + (1 − clipWeight) · caption`; an image missing from a ranking counts 0 there.
    case weightedScore(clipWeight: Double = 0.5)

    public static let `default` = RankFusion.reciprocalRank()

    /// Parses "rrf", "rrf:K", "weighted" or "weighted:W".
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first {
        case "rrf":
            guard let k = parts.count == 2 ? Double(parts[1]) : 60, k >= 0 else { return nil }
            self = .reciprocalRank(k: k)
        case "weighted":
            guard let w = parts.count == 2 ? Double(parts[1]) : 0.5, (0...1).contains(w) else { return nil }
            self = .weightedScore(clipWeight: w)
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case let .reciprocalRank(k): "rrf:\(k.formatted())"
        case let .weightedScore(w): "weighted:\(w.formatted())"
        }
    }

    /// Fuses two rankings (each best first) into one, best first; ties keep the CLIP ranking's order, then the
    /// caption ranking's. The fused score replaces the paths' scores.
    public func fuse(clip: [ScoredImage], caption: [ScoredImage]) -> [ScoredImage] {
        var fused: [Int64: Double] = [:]
        var firstSeen: [Int64: Int] = [:]
        for (position, hit) in (clip + caption).enumerated() where firstSeen[hit.id] == nil { firstSeen[hit.id] = position }
        switch self {
        case let .reciprocalRank(k):
            for ranking in [clip, caption] {
                for (rank, hit) in ranking.enumerated() { fused[hit.id, default: 0] += 1 / (k + Double(rank + 1)) }
            }
        case let .weightedScore(w):
            for (ranking, weight) in [(clip, w), (caption, 1 - w)] {
                guard let top = ranking.map(\.score).max(), let bottom = ranking.map(\.score).min() else { continue }
                let span = Double(top - bottom)
                for hit in ranking {
                    let normalised = span > 0 ? Double(hit.score - bottom) / span : 1
                    fused[hit.id, default: 0] += weight * normalised
                }
                for hit in (clip + caption) where fused[hit.id] == nil { fused[hit.id] = 0 }
            }
        }
        return fused.map { ScoredImage(id: $0.key, score: Float($0.value)) }
            .sorted { a, b in
                let (sa, sb) = (fused[a.id]!, fused[b.id]!)
                return sa != sb ? sa > sb : firstSeen[a.id]! < firstSeen[b.id]!
            }
    }
}

extension Double {
    fileprivate func formatted() -> String { self == rounded() ? String(Int(self)) : String(self) }
}
