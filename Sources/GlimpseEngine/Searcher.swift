import Foundation
import GlimpseIndex
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

/// Text → image and image → image search over a library and its vector index: the one search path of the CLI
/// and the server.
public final class Searcher: @unchecked Sendable {
    public let library: Library
    public let embedder: Embedder
    public let index: LibraryIndex

    public init(library: Library, embedder: Embedder, index: LibraryIndex) {
        self.library = library
        self.embedder = embedder
        self.index = index
    }

    public func search(text: String, limit: Int, minScore: Float? = nil) throws -> [SearchHit] {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw SearchError.emptyQuery }
        return try search(vector: embedder.embed(text: text), limit: limit, minScore: minScore)
    }

    public func search(imagePath: String, limit: Int, minScore: Float? = nil) throws -> [SearchHit] {
        let vector: [Float]
        do { vector = try embedder.embed(imagePaths: [imagePath])[0].get() } catch { throw SearchError.badQueryImage("\(error)") }
        return try search(vector: vector, limit: limit, minScore: minScore)
    }

    /// Nearest library images to an embedding, best first: the page of `limit` hits after the first `offset`,
    /// leaving out the image `excluding` (the query image of "more like this").
    public func search(vector: [Float], limit: Int, offset: Int = 0, minScore: Float? = nil, excluding: Int64? = nil) throws -> [SearchHit] {
        let k = offset + limit + (excluding == nil ? 0 : 1)
        var found = try index.vectors.search(vector, k: k, minScore: minScore)
        if let excluding { found.removeAll { $0.label == excluding } }
        let page = Array(found.dropFirst(offset).prefix(limit))
        let records = try library.images(ids: page.map(\.label))
        return page.compactMap { result in records[result.label].map { SearchHit(image: $0, score: result.score) } }
    }
}
