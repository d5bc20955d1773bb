import GlimpseEngine
import GlimpseStore

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
    /// Metadata filter clauses, all of which must hold: one text (clauses joined by "and") or a list of them.
    public var filter: FilterClauses?

    enum CodingKeys: String, CodingKey {
        case text, limit, offset, ef, path, filter
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
    /// Only images whose metadata satisfies it.
    public var filter: MetadataFilter?

    public init(limit: Int, offset: Int = 0, minScore: Float? = nil, ef: Int? = nil, path: SearchPath = .clip, filter: MetadataFilter? = nil) {
        self.limit = limit; self.offset = offset; self.minScore = minScore; self.ef = ef; self.path = path; self.filter = filter
    }
}

/// `filter` in a JSON body: `"year >= 2020 and photographer = 'Jane'"` or `["year >= 2020", "photographer = 'Jane'"]`.
public struct FilterClauses: Codable, Sendable, Equatable {
    public var clauses: [String]
    public init(_ clauses: [String]) { self.clauses = clauses }
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) { clauses = [one] } else { clauses = try container.decode([String].self) }
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(clauses)
    }
}
