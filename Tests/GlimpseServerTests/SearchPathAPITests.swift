import Foundation
import GlimpseEngine
import GlimpseServer
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// The search paths (clip, caption, hybrid) through the HTTP API, the OpenAPI document and the web UI.
final class SearchPathAPITests: XCTestCase {
    func testEveryPathThroughGetAndPostWithCaptionsInResults() async throws {
        let fixture = try await ServerFixture(thumbnails: false, captions: true)
        let captions = try await fixture.store.captions(ids: try await fixture.store.fileStates().map(\.id))
        let (ownId, ownCaption) = try XCTUnwrap(captions.first { entry in
            !entry.value.trimmingCharacters(in: .whitespaces).isEmpty && captions.values.filter { $0 == entry.value }.count == 1
        })
        try await fixture.test { client in
            try await client.execute(uri: "/api/info", method: .get) { response in
                XCTAssertEqual(response.json["search_paths"] as? [String], ["clip", "caption", "hybrid"])
                XCTAssertEqual(response.json["captions"] as? Int, ServerFixture.photos.count)
            }
            for path in ["clip", "caption", "hybrid"] {
                try await client.execute(uri: "/api/search?q=a%20rocket&limit=3&path=\(path)", method: .get) { response in
                    XCTAssertEqual(response.status, .ok, path)
                    XCTAssertEqual(response.results.count, 3, path)
                    XCTAssertTrue(response.results.allSatisfy { $0["caption"] is String }, path)
                }
                let body = try JSONSerialization.data(withJSONObject: ["text": ownCaption, "path": path, "limit": 2])
                try await client.execute(uri: "/api/search", method: .post, headers: [.contentType: "application/json"],
                                         body: ByteBuffer(bytes: Array(body))) { response in
                    XCTAssertEqual(response.status, .ok, path)
                    if path == "caption" { XCTAssertEqual(response.results.first?["id"] as? Int, Int(ownId), "a caption finds its image") }
                }
            }
            try await client.execute(uri: "/api/search?q=x&path=both", method: .get) { response in
                XCTAssertEqual(response.status, .badRequest)
                XCTAssertEqual(response.errorCode, "bad_parameter")
            }
        }
        await fixture.remove()
    }

    func testCaptionPathsOnALibraryWithoutCaptionsAreAClearError() async throws {
        let fixture = try await ServerFixture(thumbnails: false)
        try await fixture.test { client in
            try await client.execute(uri: "/api/info", method: .get) { response in
                XCTAssertEqual(response.json["search_paths"] as? [String], ["clip"])
                XCTAssertEqual(response.json["captions"] as? Int, 0)
            }
            try await client.execute(uri: "/api/search?q=rocket&path=hybrid", method: .get) { response in
                XCTAssertEqual(response.status, .badRequest)
                XCTAssertEqual(response.errorCode, "captions_unavailable")
            }
            try await client.execute(uri: "/api/search?q=rocket", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertTrue(response.results.allSatisfy { $0["caption"] == nil })
            }
            try await client.execute(uri: "/", method: .get) { response in
                let html = String(decoding: response.bytes, as: UTF8.self)
                XCTAssertTrue(html.contains("id=\"searchPath\""))
                XCTAssertTrue(html.contains("params.set(\"path\""))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                let parameters = (response.json["components"] as? [String: Any])?["parameters"] as? [String: Any]
                let path = parameters?["Path"] as? [String: Any]
                XCTAssertEqual((path?["schema"] as? [String: Any])?["enum"] as? [String], ["clip", "caption", "hybrid"])
            }
        }
        await fixture.remove()
    }
}
