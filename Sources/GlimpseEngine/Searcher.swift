import Foundation
import GlimpseModels
import GlimpseStore

/// One search result: the image as stored, its score (cosine similarity for the clip and caption paths, the
/// fused score for hybrid), and its caption when it has one.
public struct SearchHit: Sendable, Equatable {
    public let image: ImageRecord
    public let score: Float
    public let caption: String?
    /// For a text query on the clip path with a sigmoid-trained model (SigLIP): the model's own probability that
    /// the text and the image match, sigmoid(score · exp(logit_scale) + logit_bias).
    public var probability: Float? = nil
    public var id: Int64 { image.id ?? 0 }
    public var path: String { image.path }
    public var width: Int { image.width }
    public var height: Int { image.height }
}

/// Why a search could not run.
public enum SearchError: Error, CustomStringConvertible, Equatable {
    case emptyQuery
    case badQueryImage(String)
    /// The caption or hybrid path on a store without captions, or without the sentence model to embed the query.
    case noCaptions(String)

    public var description: String {
        switch self {
        case .emptyQuery: "the query is empty: give a text or --image"
        case let .badQueryImage(reason): "cannot use the query image: \(reason)"
        case let .noCaptions(reason): reason
        }
    }
}

/// A text query, embedded once per search path that needs it.
public struct EmbeddedQuery: Sendable {
    /// The CLIP-space embedding (clip and hybrid paths).
    public var clip: [Float]?
    /// The sentence embedding matched against captions (caption and hybrid paths).
    public var caption: [Float]?
    public init(clip: [Float]?, caption: [Float]?) { self.clip = clip; self.caption = caption }
}

/// Text → image and image → image search over a store: the one search path of the CLI, the server and `eval`.
/// Text queries take one of three `SearchPath`s; example images always search by CLIP embedding.
public final class Searcher: @unchecked Sendable {
    public let store: any ImageStore
    public let embedder: Embedder
    /// The sentence encoder the store's captions were embedded with (nil: only the clip path).
    public let captionText: (any TextEncoder)?
    /// How the hybrid path merges its two rankings.
    public var fusion: RankFusion = .default
    /// Candidates each path contributes to a hybrid search, at least (more when a deeper page is asked for).
    public var hybridDepth = 100

    public init(store: any ImageStore, embedder: Embedder, captionText: (any TextEncoder)? = nil) {
        self.store = store
        self.embedder = embedder
        self.captionText = captionText
    }

    /// Embeds a text query for `path` (several queries: `embed(texts:path:)` batches them).
    public func embed(text: String, path: SearchPath) throws -> EmbeddedQuery {
        try embed(texts: [text], path: path)[0]
    }

    public func embed(texts: [String], path: SearchPath) throws -> [EmbeddedQuery] {
        guard texts.allSatisfy({ !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) else { throw SearchError.emptyQuery }
        let clip = path == .caption ? nil : embedder.embed(texts: texts)
        var caption: [[Float]]?
        if path != .clip {
            guard let captionText else {
                throw SearchError.noCaptions("the \(path.rawValue) path needs the library's captions and their sentence model: index with --captions first")
            }
            caption = captionText.embed(texts: texts)
        }
        return texts.indices.map { EmbeddedQuery(clip: clip?[$0], caption: caption?[$0]) }
    }

    public func search(text: String, limit: Int, offset: Int = 0, path: SearchPath = .clip, minScore: Float? = nil,
                       ef: Int? = nil, filter: MetadataFilter? = nil) async throws -> [SearchHit] {
        try await search(query: embed(text: text, path: path), limit: limit, offset: offset, path: path, minScore: minScore, ef: ef,
                         filter: filter)
    }

    public func search(imagePath: String, limit: Int, minScore: Float? = nil, ef: Int? = nil,
                       filter: MetadataFilter? = nil) async throws -> [SearchHit] {
        let vector: [Float]
        do { vector = try embedder.embed(imagePaths: [imagePath])[0].get() } catch { throw SearchError.badQueryImage("\(error)") }
        return try await search(vector: vector, limit: limit, minScore: minScore, ef: ef, filter: filter)
    }

    /// The ranking of an embedded query along `path`: the first `k` image ids with their scores, best first,
    /// among the images `filter` accepts.
    public func rank(_ query: EmbeddedQuery, k: Int, path: SearchPath, minScore: Float? = nil, ef: Int? = nil,
                     filter: MetadataFilter? = nil) async throws -> [ScoredImage] {
        switch path {
        case .clip:
            guard let vector = query.clip else { preconditionFailure("query embedded without its CLIP vector") }
            return try await store.nearest(to: vector, k: k, minScore: minScore, ef: ef.map { max($0, k) }, filter: filter)
        case .caption:
            guard let vector = query.caption else { preconditionFailure("query embedded without its caption vector") }
            return try await store.nearestCaptions(to: vector, k: k, minScore: minScore, filter: filter)
        case .hybrid:
            let depth = max(hybridDepth, k)
            async let clip = rank(query, k: depth, path: .clip, minScore: minScore, ef: ef, filter: filter)
            async let caption = rank(query, k: depth, path: .caption, minScore: minScore, ef: ef, filter: filter)
            return Array(fusion.fuse(clip: try await clip, caption: try await caption).prefix(k))
        }
    }

    /// A page of results for an embedded text query.
    public func search(query: EmbeddedQuery, limit: Int, offset: Int = 0, path: SearchPath, minScore: Float? = nil,
                       ef: Int? = nil, filter: MetadataFilter? = nil) async throws -> [SearchHit] {
        let found = try await rank(query, k: offset + limit, path: path, minScore: minScore, ef: ef, filter: filter)
        var page = try await hits(Array(found.dropFirst(offset).prefix(limit)))
        if path == .clip {
            let info = embedder.model.info
            for i in page.indices { page[i].probability = info.probability(cosine: page[i].score) }
        }
        return page
    }

    /// Nearest images to a CLIP-space embedding, best first: the page of `limit` hits after the first `offset`,
    /// leaving out the image `excluding` (the query image of "more like this").
    public func search(vector: [Float], limit: Int, offset: Int = 0, minScore: Float? = nil, excluding: Int64? = nil,
                       ef: Int? = nil, filter: MetadataFilter? = nil) async throws -> [SearchHit] {
        let k = offset + limit + (excluding == nil ? 0 : 1)
        var found = try await store.nearest(to: vector, k: k, minScore: minScore, ef: ef.map { max($0, k) }, filter: filter)
        if let excluding { found.removeAll { $0.id == excluding } }
        return try await hits(Array(found.dropFirst(offset).prefix(limit)))
    }

    /// The stored records and captions of a page of results.
    func hits(_ page: [ScoredImage]) async throws -> [SearchHit] {
        let ids = page.map(\.id)
        let records = try await store.images(ids: ids)
        let captions = try await store.captions(ids: ids)
        return page.compactMap { result in
            records[result.id].map { SearchHit(image: $0, score: result.score, caption: captions[result.id]) }
        }
    }
}
