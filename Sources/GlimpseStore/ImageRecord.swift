import Foundation
import GRDB

/// One image of the library: where it is, how to tell whether it changed, and its embedding.
public struct ImageRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    /// The image's key in the store: an absolute path for files on this machine; for images from a list, the list's
    /// location and the row's id (`/data/photos.tsv#XMyPniM9LF0`); for objects under an S3 prefix, their
    /// `s3://bucket/key`.
    public var path: String
    public var size: Int64
    /// Modification time, nanoseconds since 1970 (exact, so "unchanged" is an equality test).
    public var mtimeNanoseconds: Int64
    /// 64-bit content hash as 16 hex digits (recognises moved and renamed files).
    public var contentHash: String
    public var width: Int
    public var height: Int
    public var format: String
    public var indexedAt: Double
    /// L2-normalised Float32 embedding, little-endian.
    public var embedding: Data
    /// The list's id column for images from a list (else nil: the path or URL identifies the image).
    public var sourceID: String?
    /// Where the bytes came from, for images that are not files here (http, https, s3 or file URL).
    public var url: String?
    /// The HTTP validator of the fetched bytes (`etag:"…"` or `last-modified:…`), to re-fetch only changed ones.
    public var validator: String?
    /// Metadata as a JSON object (`MetadataJSON`): a list's columns, or a photo's EXIF facts.
    public var metadata: String

    public init(id: Int64? = nil, path: String, size: Int64, mtimeNanoseconds: Int64, contentHash: String,
                width: Int, height: Int, format: String, indexedAt: Double = Date().timeIntervalSince1970, embedding: [Float],
                sourceID: String? = nil, url: String? = nil, validator: String? = nil, metadata: ImageMetadata = [:]) {
        self.init(id: id, path: path, size: size, mtimeNanoseconds: mtimeNanoseconds, contentHash: contentHash, width: width,
                  height: height, format: format, indexedAt: indexedAt, embedding: embedding, sourceID: sourceID, url: url,
                  validator: validator, metadataJSON: MetadataJSON.encode(metadata))
    }

    /// A record with its metadata already as JSON text (read back from a store).
    public init(id: Int64? = nil, path: String, size: Int64, mtimeNanoseconds: Int64, contentHash: String,
                width: Int, height: Int, format: String, indexedAt: Double, embedding: [Float],
                sourceID: String?, url: String?, validator: String?, metadataJSON: String) {
        self.id = id; self.path = path; self.size = size; self.mtimeNanoseconds = mtimeNanoseconds
        self.contentHash = contentHash; self.width = width; self.height = height; self.format = format
        self.indexedAt = indexedAt; self.embedding = ImageRecord.encode(embedding)
        self.sourceID = sourceID; self.url = url; self.validator = validator; self.metadata = metadataJSON
    }

    /// The metadata as values.
    public var metadataValues: ImageMetadata { MetadataJSON.decode(metadata) }

    /// The id search results show: the list's id, else the URL, else the path.
    public var displayID: String { sourceID ?? url ?? path }

    public var vector: [Float] { ImageRecord.decode(embedding) }

    public static func encode(_ v: [Float]) -> Data {
        v.withUnsafeBufferPointer { Data(buffer: $0) }
    }

    public static func decode(_ data: Data) -> [Float] {
        data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

extension ImageRecord: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "image"

    public enum Columns {
        static let id = Column(CodingKeys.id)
        static let path = Column(CodingKeys.path)
        static let contentHash = Column(CodingKeys.contentHash)
        static let size = Column(CodingKeys.size)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// What re-reading a list needs of an image stored from it: identity, where its bytes came from and their
/// validator, and its metadata (to update changed metadata without fetching again).
public struct StoredSourceState: Sendable, Equatable {
    public let id: Int64
    public let path: String
    public let url: String?
    public let validator: String?
    public let contentHash: String
    /// Canonical JSON (`MetadataJSON.encode`).
    public let metadata: String
    public init(id: Int64, path: String, url: String?, validator: String?, contentHash: String, metadata: String) {
        self.id = id; self.path = path; self.url = url; self.validator = validator; self.contentHash = contentHash; self.metadata = metadata
    }
}

/// What the change detector needs of a stored image, without its embedding.
public struct StoredFileState: Sendable, Equatable {
    public let id: Int64
    public let path: String
    public let size: Int64
    public let mtimeNanoseconds: Int64
    public let contentHash: String
}
