import Foundation
import GlimpseIndex
import GlimpseModels
import GlimpseStore

/// One search result.
public struct SearchHit: Sendable, Equatable, Codable {
    public let id: Int64
    public let path: String
    public let score: Float
    public let width: Int
    public let height: Int
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

/// Text → image and image → image search over a library and its vector index.
public final class Searcher: @unchecked Sendable {
    public let library: Library
    public let embedder: CLIPEmbedder
    public let index: VectorIndex

    public init(library: Library, embedder: CLIPEmbedder, index: VectorIndex) {
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

    /// Nearest library images to an embedding, best first.
    public func search(vector: [Float], limit: Int, minScore: Float? = nil) throws -> [SearchHit] {
        let results = try index.search(vector, k: limit, minScore: minScore)
        let records = try library.images(ids: results.map(\.label))
        return results.compactMap { result in
            records[result.label].map { SearchHit(id: result.label, path: $0.path, score: result.score, width: $0.width, height: $0.height) }
        }
    }
}
