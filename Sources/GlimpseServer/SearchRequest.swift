import GlimpseEngine

/// The JSON body of `POST /api/search`: exactly one of `text` and `image_base64`.
public struct SearchRequest: Codable, Sendable {
    public var text: String?
    public var imageBase64: String?
    public var limit: Int?
    public var offset: Int?
    public var minScore: Float?
    public var ef: Int?
    /// "clip" (default), "caption" or "hybrid"; text queries only.
    public var path: String?

    enum CodingKeys: String, CodingKey {
        case text, limit, offset, ef, path
        case imageBase64 = "image_base64", minScore = "min_score"
    }
}

/// Paging and filtering shared by every search.
public struct SearchOptions: Sendable, Equatable {
    public var limit: Int
    public var offset: Int
    public var minScore: Float?
    /// Candidate list of an approximate (HNSW) search: higher finds more of the true nearest, slower.
    public var ef: Int?
    /// How a text query finds images (image queries always search by CLIP embedding).
    public var path: SearchPath

    public init(limit: Int, offset: Int = 0, minScore: Float? = nil, ef: Int? = nil, path: SearchPath = .clip) {
        self.limit = limit; self.offset = offset; self.minScore = minScore; self.ef = ef; self.path = path
    }
}
