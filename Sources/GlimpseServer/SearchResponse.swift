import GlimpseStore

/// One result of any search, as the API shows it.
public struct SearchResult: Codable, Sendable, Equatable {
    public let id: Int64
    /// Relative to the collection root the image was indexed from.
    public let path: String
    public let score: Float
    /// A sigmoid-trained model's (SigLIP's) own match probability, for text queries on the clip path.
    public let probability: Float?
    public let width: Int
    public let height: Int
    public let thumbnailURL: String
    public let url: String
    /// The image's caption, when the library has one for it.
    public let caption: String?
    /// For images from a list: the list's id column (else the URL); for S3 objects, their s3:// URL.
    public let sourceID: String?
    /// Where the image was fetched from (lists and S3); `url` is this link itself for http(s) originals.
    public let sourceURL: String?
    /// The image's metadata: a list's columns, a photo's EXIF facts.
    public let metadata: ImageMetadata

    public init(id: Int64, path: String, score: Float, probability: Float? = nil, width: Int, height: Int, thumbnailURL: String, url: String,
                caption: String?, sourceID: String? = nil, sourceURL: String? = nil, metadata: ImageMetadata = [:]) {
        self.id = id; self.path = path; self.score = score; self.probability = probability; self.width = width; self.height = height
        self.thumbnailURL = thumbnailURL; self.url = url; self.caption = caption
        self.sourceID = sourceID; self.sourceURL = sourceURL; self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case id, path, score, probability, width, height, url, caption, metadata
        case thumbnailURL = "thumbnail_url", sourceID = "source_id", sourceURL = "source_url"
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
