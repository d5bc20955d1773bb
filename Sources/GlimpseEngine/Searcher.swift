import Foundation
import GlimpseModels
import GlimpseStore

/// One search result: the image as stored, and its cosine similarity to the query.
public struct SearchHit: Sendable, Equatable {
    public let image: ImageRecord
    public let score: Float
    public var id: Int64 { image.id ?? 0 }
    public var path: String { image.path }
    public var width: Int { image.width }
    public var height: Int { image.height }
}

/// Why a search could not run.
public enum SearchError: Error, CustomStringConvertible, Equatable {
    case emptyQuery
    case badQueryImage(String)

    public var description: String {
        switch self {
        case .emptyQuery: "the query is empty: give a text or --image"
        case let .badQueryImage(reason): "cannot use the query image: \(reason)"
        }
    }
}

/// Text → image and image → image search over a store: the one search path of the CLI and the server.
public final class Searcher: @unchecked Sendable {
    public let store: any ImageStore
    public let embedder: Embedder

    public init(store: any ImageStore, embedder: Embedder) {
        self.store = store
        self.embedder = embedder
    }

    public func search(text: String, limit: Int, minScore: Float? = nil, ef: Int? = nil) async throws -> [SearchHit] {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SearchError.emptyQuery }
        return try await search(vector: embedder.embed(text: text), limit: limit, minScore: minScore, ef: ef)
    }

    public func search(imagePath: String, limit: Int, minScore: Float? = nil, ef: Int? = nil) async throws -> [SearchHit] {
        let vector: [Float]
        do { vector = try embedder.embed(imagePaths: [imagePath])[0].get() } catch { throw SearchError.badQueryImage("\(error)") }
        return try await search(vector: vector, limit: limit, minScore: minScore, ef: ef)
    }

    /// Nearest images to an embedding, best first: the page of `limit` hits after the first `offset`, leaving out
    /// the image `excluding` (the query image of "more like this").
    public func search(vector: [Float], limit: Int, offset: Int = 0, minScore: Float? = nil, excluding: Int64? = nil,
                       ef: Int? = nil) async throws -> [SearchHit] {
        let k = offset + limit + (excluding == nil ? 0 : 1)
        var found = try await store.nearest(to: vector, k: k, minScore: minScore, ef: ef.map { max($0, k) })
        if let excluding { found.removeAll { $0.id == excluding } }
        let page = Array(found.dropFirst(offset).prefix(limit))
        let records = try await store.images(ids: page.map(\.id))
        return page.compactMap { result in records[result.id].map { SearchHit(image: $0, score: result.score) } }
    }
}
