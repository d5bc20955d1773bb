import Foundation
import GRDB

/// One image of the library: where it is, how to tell whether it changed, and its embedding.
public struct ImageRecord: Codable, Sendable, Equatable {
    public var id: Int64?
    /// Absolute path.
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

    public init(id: Int64? = nil, path: String, size: Int64, mtimeNanoseconds: Int64, contentHash: String,
                width: Int, height: Int, format: String, indexedAt: Double = Date().timeIntervalSince1970, embedding: [Float]) {
        self.id = id; self.path = path; self.size = size; self.mtimeNanoseconds = mtimeNanoseconds
        self.contentHash = contentHash; self.width = width; self.height = height; self.format = format
        self.indexedAt = indexedAt; self.embedding = ImageRecord.encode(embedding)
    }

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

/// What the change detector needs of a stored image, without its embedding.
public struct StoredFileState: Sendable, Equatable {
    public let id: Int64
    public let path: String
    public let size: Int64
    public let mtimeNanoseconds: Int64
    public let contentHash: String
}
