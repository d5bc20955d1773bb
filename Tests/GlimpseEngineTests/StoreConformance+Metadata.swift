import Foundation
@testable import GlimpseIndex
import GlimpseStore
import XCTest
@testable import GlimpseEngine

/// Metadata and filters, the same in every store: what a list stores comes back, and every filter operator
/// selects exactly what `MetadataFilter.matches` (the reference) selects, during the search.
extension StoreConformance {
    /// `count` images under `root#id` with random vectors and random metadata (seeded).
    func saveRandomListImages(count: Int, root: String, seed: UInt64 = 7) async throws -> [ImageRecord] {
        var rng = SplitMix64(seed: seed)
        let colors = ["red", "green", "blue", "black", "white", "Orange"]
        let tags = (0..<20).map { "tag\($0)" }
        let dimension = Self.embedder.embeddingDim
        var records: [ImageRecord] = []
        for i in 0..<count {
            var metadata: ImageMetadata = [
                "color": .string(colors[Int(rng.next() % UInt64(colors.count))]),
                "year": .number(Double(2000 + Int(rng.next() % 25))),
                "price": .number(Double(rng.next() % 10_000) / 100),
                "title": .string("Item \(i) \(["Beach house", "city night", "Mountain lake", "coffee cup"][i % 4])"),
                "taken": .string(String(format: "20%02d-%02d-01", Int(rng.next() % 25), 1 + Int(rng.next() % 12))),
                "tags": .list((0..<Int(rng.next() % 4)).map { _ in .string(tags[Int(rng.next() % UInt64(tags.count))]) }),
                "featured": .bool(rng.next() % 2 == 0),
            ]
            if i % 7 == 0 { metadata["color"] = nil }  // a field some images lack
            let vector = (0..<dimension).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
            records.append(ImageRecord(path: root + "#" + String(i), size: 100, mtimeNanoseconds: 0, contentHash: String(format: "%016x", i),
                                       width: 10, height: 10, format: "jpeg", embedding: vector, sourceID: String(i),
                                       url: "https://img.example/\(i).jpg", validator: "etag:\"\(i)\"", metadata: metadata))
        }
        let ids = try await store.saveImages(records)
        for (i, id) in ids.enumerated() { records[i].id = id }
        try await store.refresh()
        return records
    }

    func metadataAndSourceFieldsRoundTrip() async throws {
        let records = try await saveRandomListImages(count: 12, root: "/lists/a.tsv")
        _ = try await saveRandomListImages(count: 3, root: "/lists/b.tsv", seed: 9)
        let states = try await store.sourceStates(pathPrefix: "/lists/a.tsv#")
        XCTAssertEqual(states.count, 12, "only the images under the prefix")
        let first = try XCTUnwrap(states.first { $0.path == "/lists/a.tsv#0" })
        XCTAssertEqual(first.url, "https://img.example/0.jpg")
        XCTAssertEqual(first.validator, "etag:\"0\"")
        XCTAssertEqual(MetadataJSON.decode(first.metadata), records[0].metadataValues)
        let stored = try await store.image(id: records[3].id!)
        XCTAssertEqual(stored?.sourceID, "3")
        XCTAssertEqual(stored?.metadataValues, records[3].metadataValues)

        try await store.updateMetadata([(records[3].id!, ["color": .string("purple"), "tags": .list([.string("new")])])])
        let updated = try await store.image(id: records[3].id!)
        XCTAssertEqual(updated?.metadataValues, ["color": .string("purple"), "tags": .list([.string("new")])])
        XCTAssertEqual(updated?.vector, records[3].vector, "a metadata update keeps the embedding")
    }

    /// Folder images carry their file facts (size, format, EXIF date, camera, GPS) as metadata, and filter on them.
    func folderImagesCarryTheirFileFacts() async throws {
        try FileManager.default.copyItem(atPath: Self.fixtures + "/exif/camera_gps.jpg", toPath: folder + "/camera_gps.jpg")
        _ = try await index()
        let query = Self.embedder.embed(text: "a photo")
        let canon = try await store.nearest(to: query, k: 20, minScore: nil, ef: nil, filter: try MetadataFilter(parsing: ["camera_make = Canon"]))
        XCTAssertEqual(canon.count, 1)
        let record = try await store.image(id: canon[0].id)
        let metadata = try XCTUnwrap(record?.metadataValues)
        XCTAssertEqual(record?.path, path("camera_gps.jpg"))
        XCTAssertEqual(metadata["taken_at"], .string("2021-05-31T20:44:07"))
        XCTAssertEqual(metadata["camera_model"], .string("Canon EOS 5D Mark IV"))
        XCTAssertEqual(metadata["width"], .number(32))
        XCTAssertEqual(metadata["format"], .string("jpeg"))
        guard case let .number(longitude)? = metadata["gps_longitude"] else { return XCTFail("no GPS: \(metadata)") }
        XCTAssertEqual(longitude, -0.1275, accuracy: 1e-6)
        let wide = try await store.nearest(to: query, k: 20, minScore: nil, ef: nil, filter: try MetadataFilter(parsing: ["width >= 400"]))
        let all = try await store.images(ids: try await store.fileStates().map(\.id))
        XCTAssertEqual(Set(wide.map(\.id)), Set(all.values.filter { $0.width >= 400 }.map(\.id!)))
    }

    func everyFilterOperatorMatchesTheReference() async throws {
        let records = try await saveRandomListImages(count: 300, root: "/lists/f.tsv")
        let query = records[0].vector
        let filters = [
            "color = red", "color != \"red\"", "color in (\"green\", \"blue\")", "year >= 2012", "year < 2003", "price > 50 and price <= 60",
            "tags contains tag3", "tags = tag7", "title contains \"beach\"", "title contains CITY", "taken >= \"2015-06\"",
            "featured = true", "year = 2010 and tags contains tag1", "nothing = 1", "color = 5", "year in (2001, 2002, \"2003\")",
            "tags != tag2", "title < \"Item 2\"",
        ]
        for text in filters {
            let filter = try MetadataFilter(parsing: [text])
            let expected = Set(records.filter { filter.matches($0.metadataValues) }.map(\.id!))
            let found = try await store.nearest(to: query, k: records.count, minScore: nil, ef: nil, filter: filter)
            XCTAssertEqual(Set(found.map(\.id)), expected, "\(text): \(expected.count) expected")
            XCTAssertEqual(found.map(\.score), found.map(\.score).sorted(by: >), "best first")
        }
        // A selective filter still returns `limit` results when that many match, the best of them.
        let filter = try MetadataFilter(parsing: ["year >= 2020"])
        let matching = records.filter { filter.matches($0.metadataValues) }
        XCTAssertGreaterThan(matching.count, 20)
        func cosine(_ v: [Float]) -> Float {
            zip(v, query).reduce(Float(0)) { $0 + $1.0 * $1.1 } / (v.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot() * query.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot())
        }
        let best = matching.map { ($0.id!, cosine($0.vector)) }.sorted { $0.1 > $1.1 }.prefix(10).map(\.0)
        let top = try await store.nearest(to: query, k: 10, minScore: nil, ef: nil, filter: filter)
        XCTAssertEqual(top.map(\.id), Array(best))
        // A broad filter (most images match): PostgreSQL traverses its HNSW index with the filter; still 10 matching.
        let broad = try MetadataFilter(parsing: ["year >= 2001"])
        let broadMatches = records.filter { broad.matches($0.metadataValues) }
        let exactBroad = Set(broadMatches.map { ($0.id!, cosine($0.vector)) }.sorted { $0.1 > $1.1 }.prefix(10).map(\.0))
        let broadTop = try await store.nearest(to: query, k: 10, minScore: nil, ef: 64, filter: broad)
        XCTAssertEqual(broadTop.count, 10)
        XCTAssertTrue(broadTop.allSatisfy { id in broadMatches.contains { $0.id == id.id } })
        XCTAssertGreaterThanOrEqual(Double(Set(broadTop.map(\.id)).intersection(exactBroad).count) / 10, 0.9)
        // The search path takes it too.
        let hits = try await searcher.search(vector: query, limit: 5, filter: try MetadataFilter(parsing: ["color = blue"]))
        XCTAssertEqual(hits.count, 5)
        XCTAssertTrue(hits.allSatisfy { $0.image.metadataValues["color"] == .string("blue") })
    }
}
