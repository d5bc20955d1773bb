import GlimpseStore

/// What `GET /api/images/{id}` (and an upload) answers about one image.
public struct ImageInfo: Codable, Sendable, Equatable {
    public let id: Int64
    public let path: String
    public let width: Int
    public let height: Int
    public let format: String
    public let size: Int64
    public let indexedAt: Double
    public let thumbnailURL: String
    public let url: String
    public let similarURL: String
    public var sourceID: String?
    public var sourceURL: String?
    public var metadata: ImageMetadata = [:]

    public init(id: Int64, path: String, width: Int, height: Int, format: String, size: Int64, indexedAt: Double, thumbnailURL: String,
                url: String, similarURL: String, sourceID: String? = nil, sourceURL: String? = nil, metadata: ImageMetadata = [:]) {
        self.id = id; self.path = path; self.width = width; self.height = height; self.format = format; self.size = size
        self.indexedAt = indexedAt; self.thumbnailURL = thumbnailURL; self.url = url; self.similarURL = similarURL
        self.sourceID = sourceID; self.sourceURL = sourceURL; self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case id, path, width, height, format, size, url, metadata
        case indexedAt = "indexed_at", thumbnailURL = "thumbnail_url", similarURL = "similar_url"
        case sourceID = "source_id", sourceURL = "source_url"
    }
}

/// `GET /api/info` and `/healthz`: the library at a glance.
public struct LibraryInfo: Codable, Sendable, Equatable {
    public let status: String
    public let images: Int
    public let model: String
    /// The model text queries go through: the library's own, or the `--text-model` given to `serve`.
    public let textModel: String
    public let dimension: Int
    public let indexKind: String
    public let version: String
    /// Images with a caption (searchable by the caption and hybrid paths).
    public let captions: Int
    /// The search paths text queries can take here: always clip; caption and hybrid when the library has captions
    /// and the server loaded their sentence model.
    public let searchPaths: [String]
    /// The precision this server's model runs in ("auto" resolved: "int8", "fp32", "bf16") and its kernel.
    public let precision: String
    public let kernel: String
    /// Every precision the library's vectors were made in (more than one: mixed).
    public let vectorPrecisions: [String]

    enum CodingKeys: String, CodingKey {
        case status, images, model, dimension, version, captions, precision, kernel
        case indexKind = "index_kind", textModel = "text_model", searchPaths = "search_paths", vectorPrecisions = "vector_precisions"
    }
}
