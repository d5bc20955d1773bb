import Foundation
import GlimpseStore

/// Moves a collection between stores without re-embedding (`glimpse export | glimpse import`), as JSON Lines:
/// a header `{"glimpse_export": 1, "model": {...}, "roots": [...]}`, then one object per image with its record,
/// its embedding (base64 of little-endian float32) and its thumbnail (base64 JPEG) when it has one.
public enum StoreTransfer {
    public static let version = 1

    struct Header: Codable {
        var glimpseExport: Int
        var model: ModelBinding
        var roots: [String]
        /// The precisions the vectors were made in (absent from exports of older versions).
        var precisions: [String]?
        enum CodingKeys: String, CodingKey { case glimpseExport = "glimpse_export", model, roots, precisions }
    }

    struct Image: Codable {
        var path: String
        var size: Int64
        var mtimeNs: Int64
        var contentHash: String
        var width: Int
        var height: Int
        var format: String
        var indexedAt: Double
        var embedding: Data
        var thumbnail: Data?
        enum CodingKeys: String, CodingKey {
            case path, size, width, height, format, embedding, thumbnail
            case mtimeNs = "mtime_ns", contentHash = "content_hash", indexedAt = "indexed_at"
        }
    }

    public enum TransferError: Error, CustomStringConvertible {
        case emptyStore(String)
        case badLine(Int, String)
        public var description: String {
            switch self {
            case let .emptyStore(location): "\(location): nothing to export: the store has no model yet (index something first)"
            case let .badLine(line, reason): "line \(line) of the export: \(reason)"
            }
        }
    }

    /// Writes every image of `store` through `write` (one line each, newline included); returns how many.
    @discardableResult
    public static func export(_ store: any ImageStore, thumbnails: Bool = true, write: (String) throws -> Void) async throws -> Int {
        guard let model = try await store.model() else { throw TransferError.emptyStore(store.location) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        func line(_ value: some Encodable) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) + "\n" }
        try write(try line(Header(glimpseExport: version, model: model, roots: try await store.collectionRoots(),
                                          precisions: try await store.precisions())))
        var count = 0
        try await store.forEachImage(batchSize: 256) { batch in
            for record in batch {
                let thumbnail = thumbnails ? try await store.thumbnail(id: record.id ?? 0) : nil
                try write(try line(Image(path: record.path, size: record.size, mtimeNs: record.mtimeNanoseconds, contentHash: record.contentHash,
                                         width: record.width, height: record.height, format: record.format, indexedAt: record.indexedAt,
                                         embedding: record.embedding, thumbnail: thumbnail)))
                count += 1
            }
        }
        return count
    }

    /// Reads an export line by line (`nextLine` returns nil at the end) into `store`, which must be new or built with
    /// the same model; images are upserted by path in batches. Returns how many images were imported.
    @discardableResult
    public static func `import`(into store: any ImageStore, nextLine: () -> String?) async throws -> Int {
        let decoder = JSONDecoder()
        var number = 1
        guard let first = nextLine() else { throw TransferError.badLine(1, "the input is empty") }
        let header: Header
        do { header = try decoder.decode(Header.self, from: Data(first.utf8)) } catch {
            throw TransferError.badLine(1, "not a Glimpse export header: \(error)")
        }
        guard header.glimpseExport == version else { throw TransferError.badLine(1, "export version \(header.glimpseExport); this Glimpse reads \(version)") }
        try await store.bindModel(name: header.model.name, fingerprint: header.model.fingerprint, dimension: header.model.dimension)
        try await store.addCollectionRoots(header.roots)
        for precision in header.precisions ?? [] { try await store.recordPrecision(precision) }
        var batch: [Image] = []
        var count = 0
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let records = batch.map {
                var record = ImageRecord(path: $0.path, size: $0.size, mtimeNanoseconds: $0.mtimeNs, contentHash: $0.contentHash, width: $0.width,
                                         height: $0.height, format: $0.format, indexedAt: $0.indexedAt, embedding: [])
                record.embedding = $0.embedding
                return record
            }
            let ids = try await store.saveImages(records)
            try await store.saveThumbnails(zip(ids, batch).compactMap { id, image in image.thumbnail.map { (id, $0) } })
            count += batch.count
            batch.removeAll(keepingCapacity: true)
        }
        try await store.bulkLoad {
            while let text = nextLine() {
                number += 1
                if text.isEmpty { continue }
                let image: Image
                do { image = try decoder.decode(Image.self, from: Data(text.utf8)) } catch { throw TransferError.badLine(number, "\(error)") }
                guard image.embedding.count == header.model.dimension * 4 else {
                    throw TransferError.badLine(number, "\(image.path): embedding of \(image.embedding.count / 4) values, the model's have \(header.model.dimension)")
                }
                batch.append(image)
                if batch.count == 256 { try await flush() }
            }
            try await flush()
        }
        return count
    }
}
