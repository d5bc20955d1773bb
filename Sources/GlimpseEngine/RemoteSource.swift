import Foundation
import GlimpseSources
import GlimpseStore

/// A collection whose images are fetched rather than found on disk: a list file, or an S3 prefix. Both become
/// `RemoteItem`s keyed under one root, so one indexer (`ListIndexer`) brings either up to date.
public struct RemoteSource: Sendable {
    /// The key prefix of this source's images in the store: the list's absolute path + "#", or the s3:// prefix.
    public var root: String
    public var items: [RemoteItem]
    /// Rows that cannot become images (no URL, duplicate id, wrong field count).
    public var failures: [IndexFailure]
    /// What was read, for messages ("tsv, unsplash", "s3 listing").
    public var description: String

    /// The images of a list file.
    public static func list(path: String, options: ListOptions) throws -> RemoteSource {
        let absolute = FileScanner.absolute(path)
        let list = try ImageList.read(path: absolute, options: options)
        let root = absolute + "#"
        let items = list.rows.map { row in
            RemoteItem(key: root + row.id, sourceID: row.id, url: row.url, metadata: Self.metadata(row.fields), listedValidator: nil)
        }
        let failures = list.failures.map { f in
            IndexFailure(path: "\(absolute):\(f.line)", error: "line \(f.line): \(f.error)", id: f.id, url: f.url)
        }
        return RemoteSource(root: root, items: items, failures: failures, description: list.description)
    }

    /// The objects under an S3 prefix (`s3://bucket/prefix/`), with the listing's ETags as validators, so a
    /// changed object is fetched again and an unchanged one is not fetched at all.
    public static func s3(prefix url: String, client: S3Client) async throws -> RemoteSource {
        let location = try S3Location(url: url)
        let objects = try await client.list(bucket: location.bucket, prefix: location.key)
        let items = objects.filter { object in
            !object.key.hasSuffix("/") && FileScanner.imageExtensions.contains((object.key as NSString).pathExtension.lowercased())
        }.map { object in
            let url = "s3://\(location.bucket)/\(object.key)"
            return RemoteItem(key: url, sourceID: nil, url: url,
                              metadata: ["key": .string(object.key), "size": .number(Double(object.size)),
                                         "last_modified": .string(object.lastModified)],
                              listedValidator: "etag:" + object.etag)
        }
        return RemoteSource(root: "s3://\(location.bucket)/\(location.key)", items: items, failures: [], description: "s3 listing")
    }

    static func metadata(_ fields: [(String, MetadataValue)]) -> ImageMetadata {
        Dictionary(fields, uniquingKeysWith: { _, last in last })
    }
}

/// One image of a remote source.
public struct RemoteItem: Sendable, Equatable {
    /// Its key in the store (`ImageRecord.path`).
    public var key: String
    public var sourceID: String?
    public var url: String
    public var metadata: ImageMetadata
    /// A validator the listing itself gives (S3's ETag): compared with the stored one without a request.
    public var listedValidator: String?
}
