/// One result of any search, as the API shows it.
public struct SearchResult: Codable, Sendable, Equatable {
    public let id: Int64
    /// Relative to the collection root the image was indexed from.
    public let path: String
    public let score: Float
    public let width: Int
    public let height: Int
    public let thumbnailURL: String
    public let url: String
    /// The image's caption, when the library has one for it.
    public let caption: String?

    enum CodingKeys: String, CodingKey {
        case id, path, score, width, height, url, caption
        case thumbnailURL = "thumbnail_url"
    }
}

/// The answer of every search endpoint: results best first, and the server-side time it took.
public struct SearchResponse: Codable, Sendable, Equatable {
    public let results: [SearchResult]
    public let tookMs: Double

    enum CodingKeys: String, CodingKey {
        case results
        case tookMs = "took_ms"
    }
}
