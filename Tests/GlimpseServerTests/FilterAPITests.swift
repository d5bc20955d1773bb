import Foundation
import GlimpseEngine
import GlimpseServer
import GlimpseStore
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// Metadata through the API: `filter` on every search endpoint (GET repeated, POST as a text or a list), metadata
/// and the source link in results, bad clauses as 400s naming them, and list images that link their original.
final class FilterAPITests: XCTestCase {
    func testFiltersMetadataAndRemoteOriginals() async throws {
        let fixture = try await ServerFixture(thumbnails: false)
        // One image becomes a list image from another host, with metadata.
        let states = try await fixture.store.fileStates()
        let stored = try await fixture.store.image(id: states[0].id)
        var record = try XCTUnwrap(stored)
        record.sourceID = "u1"
        record.url = "https://images.example.com/u1.jpg"
        record.metadata = MetadataJSON.encode(["photographer": .string("Jane Doe"), "year": .number(2021), "keywords": .list([.string("beach")])])
        try await fixture.store.saveImages([record])
        try await fixture.store.refresh()
        let id = Int(states[0].id)

        try await fixture.test { client in
            for uri in ["/api/search?q=x&filter=photographer%20%3D%20%22Jane%20Doe%22",
                        "/api/search?q=x&filter=year%20%3E%3D%202020&filter=keywords%20contains%20beach",
                        "/api/images/\(states[1].id)/similar?filter=year%20%3D%202021"] {
                try await client.execute(uri: uri, method: .get) { response in
                    XCTAssertEqual(response.status, .ok, uri)
                    XCTAssertEqual(response.results.map { $0["id"] as? Int }, [id], uri)
                    let hit = try XCTUnwrap(response.results.first)
                    XCTAssertEqual(hit["source_id"] as? String, "u1")
                    XCTAssertEqual(hit["url"] as? String, "https://images.example.com/u1.jpg", "an http(s) original is linked, not served")
                    XCTAssertEqual((hit["metadata"] as? [String: Any])?["photographer"] as? String, "Jane Doe")
                }
            }
            for filter: Any in ["year >= 2020 and photographer = 'Jane Doe'", ["year >= 2020", "keywords contains \"beach\""]] {
                let body = try JSONSerialization.data(withJSONObject: ["text": "x", "filter": filter])
                try await client.execute(uri: "/api/search", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(bytes: Array(body))) { response in
                    XCTAssertEqual(response.status, .ok)
                    XCTAssertEqual(response.results.map { $0["id"] as? Int }, [id])
                }
            }
            // Folder images carry their file facts.
            try await client.execute(uri: "/api/search?q=x&limit=50&filter=format%20%3D%20png", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertFalse(response.results.isEmpty)
                XCTAssertTrue(response.results.allSatisfy { ($0["metadata"] as? [String: Any])?["format"] as? String == "png" })
            }
            try await client.execute(uri: "/api/search?q=x&filter=year%20%3E%3E%203", method: .get) { response in
                XCTAssertEqual(response.status, .badRequest)
                XCTAssertEqual(response.errorCode, "bad_parameter")
                XCTAssertTrue(String(buffer: response.body).contains("year >> 3"), String(buffer: response.body))
            }
            // The original of a list image is elsewhere: never fetched for a client.
            try await client.execute(uri: "/api/images/\(id)/file", method: .get) { response in
                XCTAssertEqual(response.status, .notFound)
                XCTAssertEqual(response.errorCode, "remote_original")
            }
        }
        await fixture.remove()
    }
}
