import Foundation
import GlimpseServer
import GlimpseStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// Every route of the API, and every error path, against a library built from the fixtures with the tiny model.
final class APITests: XCTestCase {
    var fixture: ServerFixture!

    override func setUp() async throws { fixture = try await ServerFixture() }
    override func tearDown() async throws { await fixture?.remove() }

    func testTextSearchAnswersResultsBestFirstWithRelativePaths() async throws {
        let names = Set(ServerFixture.photos)
        try await fixture.test { client in
            try await client.execute(uri: "/api/search?q=a%20cup%20of%20coffee&limit=5", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "application/json; charset=utf-8")
                let results = response.results
                XCTAssertEqual(results.count, 5)
                let scores = results.compactMap { ($0["score"] as? NSNumber)?.floatValue }
                XCTAssertEqual(scores, scores.sorted(by: >))
                XCTAssertNotNil(response.json["took_ms"] as? Double)
                for result in results {
                    let path = result["path"] as! String
                    XCTAssertFalse(path.hasPrefix("/"), path)
                    XCTAssertTrue(names.contains((path as NSString).lastPathComponent), path)
                    let id = result["id"] as! Int
                    XCTAssertEqual((result["thumbnail_url"] as! String).components(separatedBy: "?")[0], "/api/images/\(id)/thumbnail")
                    XCTAssertEqual((result["url"] as! String).components(separatedBy: "?")[0], "/api/images/\(id)/file")
                    XCTAssertGreaterThan(result["width"] as! Int, 0)
                    XCTAssertGreaterThan(result["height"] as! Int, 0)
                }
                XCTAssertTrue(results.contains { ($0["path"] as! String).hasPrefix("sub/") })
            }
        }
    }

    func testPagingAndMinScore() async throws {
        try await fixture.test { client in
            let all = try await client.execute(uri: "/api/search?q=rocket&limit=7", method: .get) { $0.results.map { $0["id"] as! Int } }
            XCTAssertEqual(all.count, ServerFixture.photos.count)
            let page = try await client.execute(uri: "/api/search?q=rocket&limit=3&offset=2", method: .get) { $0.results.map { $0["id"] as! Int } }
            XCTAssertEqual(page, Array(all[2..<5]))
            try await client.execute(uri: "/api/search?q=rocket&min_score=1", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.results.count, 0)
            }
        }
    }

    func testSearchByImageThreeWaysFindsTheImageFirst() async throws {
        let bytes = try ServerFixture.bytes("rocket_444.jpg")
        let expected = try fixture.id(of: "rocket_444.jpg")
        try await fixture.test { client in
            try await client.execute(uri: "/api/search/image?limit=3", method: .post,
                                     headers: [.contentType: "multipart/form-data; boundary=glimpse-test-boundary"],
                                     body: multipart(field: "image", filename: "../../etc/passwd", contentType: "image/jpeg", data: bytes)) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.results.first?["id"] as? Int, Int(expected))
                XCTAssertGreaterThan((response.results.first?["score"] as? NSNumber)?.floatValue ?? 0, 0.99)
            }
            try await client.execute(uri: "/api/search/image", method: .post, headers: [.contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: bytes)) { response in
                XCTAssertEqual(response.results.first?["id"] as? Int, Int(expected))
            }
            let json = try JSONSerialization.data(withJSONObject: ["image_base64": Data(bytes).base64EncodedString(), "limit": 2])
            try await client.execute(uri: "/api/search", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(bytes: json)) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.results.count, 2)
                XCTAssertEqual(response.results.first?["id"] as? Int, Int(expected))
            }
            let text = try JSONSerialization.data(withJSONObject: ["text": "coffee", "limit": 4, "min_score": -1])
            try await client.execute(uri: "/api/search", method: .post, headers: [.contentType: "application/json; charset=utf-8"],
                                     body: ByteBuffer(bytes: text)) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.results.count, 4)
            }
        }
    }

    func testSimilarExcludesTheImageItself() async throws {
        let id = try fixture.id(of: "coffee_progressive.jpg")
        try await fixture.test { client in
            try await client.execute(uri: "/api/images/\(id)/similar?limit=3", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.results.count, 3)
                XCTAssertFalse(response.results.contains { $0["id"] as? Int == Int(id) })
            }
        }
    }

    func testImageMetadataThumbnailAndFile() async throws {
        let id = try fixture.id(of: "chelsea_palette.png")
        let original = try ServerFixture.bytes("chelsea_palette.png")
        XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.library.thumbnailPath(id: id)), "made at index time")
        try await fixture.test { client in
            try await client.execute(uri: "/api/images/\(id)", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.json["path"] as? String, "sub/chelsea_palette.png")
                XCTAssertEqual(response.json["format"] as? String, "png")
                XCTAssertEqual(response.json["similar_url"] as? String, "/api/images/\(id)/similar")
            }
            let etag = try await client.execute(uri: "/api/images/\(id)/thumbnail", method: .get) { response -> String in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "image/jpeg")
                XCTAssertEqual(Array(response.bytes.prefix(3)), [0xFF, 0xD8, 0xFF])
                XCTAssertNotNil(response.headers[.cacheControl])
                return try XCTUnwrap(response.headers[.eTag])
            }
            try await client.execute(uri: "/api/images/\(id)/thumbnail", method: .get, headers: [.ifNoneMatch: etag]) { response in
                XCTAssertEqual(response.status, .notModified)
            }
            try await client.execute(uri: "/api/images/\(id)/file", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "image/png")
                XCTAssertEqual(response.bytes, original)
                XCTAssertNotNil(response.headers[.eTag])
            }
        }
    }

    func testMissingThumbnailIsMadeOnDemand() async throws {
        let id = try fixture.id(of: "rocket.bmp")
        try FileManager.default.removeItem(atPath: fixture.library.thumbnailPath(id: id))
        try await fixture.test { client in
            try await client.execute(uri: "/api/images/\(id)/thumbnail", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(Array(response.bytes.prefix(3)), [0xFF, 0xD8, 0xFF])
            }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: fixture.library.thumbnailPath(id: id)))
    }

    func testUploadIndexesTheImageAndDeleteRemovesIt() async throws {
        let bytes = try ServerFixture.bytes("rocket_exif6.jpg")
        try await fixture.test { client in
            let id = try await client.execute(uri: "/api/images", method: .post,
                                              headers: [.contentType: "multipart/form-data; boundary=glimpse-test-boundary"],
                                              body: multipart(field: "image", filename: "/etc/passwd", contentType: "image/jpeg", data: bytes)) { response -> Int in
                XCTAssertEqual(response.status, .created)
                let path = try XCTUnwrap(response.json["path"] as? String)
                XCTAssertTrue(path.hasSuffix(".jpg") && !path.contains("passwd"), path)
                return try XCTUnwrap(response.json["id"] as? Int)
            }
            try await client.execute(uri: "/api/info", method: .get) { response in
                XCTAssertEqual(response.json["images"] as? Int, ServerFixture.photos.count + 1)
            }
            try await client.execute(uri: "/api/search/image?limit=1", method: .post, headers: [.contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: bytes)) { response in
                XCTAssertEqual(response.results.first?["id"] as? Int, id)
            }
            try await client.execute(uri: "/api/images/\(id)/thumbnail", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/images/\(id)", method: .delete) { XCTAssertEqual($0.status, .noContent) }
            try await client.execute(uri: "/api/images/\(id)", method: .get) { response in
                XCTAssertEqual(response.status, .notFound)
                XCTAssertEqual(response.errorCode, "image_not_found")
            }
            try await client.execute(uri: "/api/search?q=rocket&limit=50", method: .get) { response in
                XCTAssertFalse(response.results.contains { $0["id"] as? Int == id })
                XCTAssertEqual(response.results.count, ServerFixture.photos.count)
            }
        }
        let uploads = (try? FileManager.default.contentsOfDirectory(atPath: fixture.service.uploadsDirectory ?? "")) ?? []
        XCTAssertEqual(uploads, [], "the uploaded copy is deleted with its image")
    }

    func testRescanPicksUpNewFilesAndReportsProgress() async throws {
        try FileManager.default.copyItem(atPath: ServerFixture.fixtures + "/images/moon_gray.png", toPath: fixture.folder + "/moon.png")
        try await fixture.test { client in
            try await client.execute(uri: "/api/index", method: .post) { response in
                XCTAssertEqual(response.status, .accepted)
                XCTAssertEqual(response.json["state"] as? String, "running")
            }
            var state = ""
            for _ in 0..<600 {
                state = try await client.execute(uri: "/api/index/status", method: .get) { $0.json["state"] as? String ?? "" }
                if state != "running" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            XCTAssertEqual(state, "finished")
            try await client.execute(uri: "/api/index/status", method: .get) { response in
                XCTAssertEqual(response.json["added"] as? Int, 1)
                XCTAssertEqual(response.json["unchanged"] as? Int, ServerFixture.photos.count)
            }
            try await client.execute(uri: "/healthz", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.json["images"] as? Int, ServerFixture.photos.count + 1)
                XCTAssertEqual(response.json["model"] as? String, "clip-tiny-f32")
            }
        }
    }

    func testMetricsCountRequestsAndIndexSize() async throws {
        try await fixture.test { client in
            try await client.execute(uri: "/api/search?q=cat", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/images/999999", method: .get) { XCTAssertEqual($0.status, .notFound) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                let text = String(buffer: response.body)
                XCTAssertEqual(response.status, .ok)
                XCTAssertTrue(text.contains("glimpse_http_requests_total{method=\"GET\",route=\"/api/search\",status=\"200\"} 1"), text)
                XCTAssertTrue(text.contains("route=\"/api/images/{id}\",status=\"404\""), text)
                XCTAssertTrue(text.contains("glimpse_http_request_duration_seconds_bucket"), text)
                XCTAssertTrue(text.contains("glimpse_index_images \(ServerFixture.photos.count)"), text)
            }
        }
    }

    func testWebUIAndOpenAPIAreServed() async throws {
        try await fixture.test { client in
            try await client.execute(uri: "/", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.headers[.contentType], "text/html; charset=utf-8")
                XCTAssertTrue(String(buffer: response.body).contains("<title>Glimpse</title>"))
            }
            try await client.execute(uri: "/openapi.json", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.json["openapi"] as? String, "3.1.0")
            }
        }
    }

    // MARK: Error paths: always 4xx with a JSON error body

    func testBadParametersAndUnknownIds() async throws {
        try await fixture.test { client in
            try await assertAPIError(client, "/api/search", status: .badRequest, code: "missing_parameter")
            try await assertAPIError(client, "/api/search?q=%20%20", status: .badRequest, code: "empty_query")
            try await assertAPIError(client, "/api/search?q=cat&limit=0", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/search?q=cat&limit=abc", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/search?q=cat&limit=100000", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/search?q=cat&offset=-1", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/search?q=cat&min_score=2", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/search?q=cat&min_score=nan", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/images/424242", status: .notFound, code: "image_not_found")
            try await assertAPIError(client, "/api/images/abc", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/images/-3/thumbnail", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/images/424242/thumbnail", status: .notFound, code: "image_not_found")
            try await assertAPIError(client, "/api/images/424242/file", status: .notFound, code: "image_not_found")
            try await assertAPIError(client, "/api/images/424242/similar", status: .notFound, code: "image_not_found")
            try await assertAPIError(client, "/api/images/424242", method: .delete, status: .notFound, code: "image_not_found")
            try await assertAPIError(client, "/api/images/..%2F..%2Fetc%2Fpasswd/file", status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/nothing/here", status: .notFound, code: "route_not_found")
            try await assertAPIError(client, "/etc/passwd", status: .notFound, code: "route_not_found")
        }
    }

    func testBadBodies() async throws {
        let json: HTTPFields = [.contentType: "application/json"]
        try await fixture.test { client in
            try await assertAPIError(client, "/api/search", method: .post, headers: json, body: ByteBuffer(string: "{\"text\": "),
                                  status: .badRequest, code: "malformed_json")
            try await assertAPIError(client, "/api/search", method: .post, headers: json, body: ByteBuffer(string: "[1, 2]"),
                                  status: .badRequest, code: "malformed_json")
            try await assertAPIError(client, "/api/search", method: .post, headers: json, body: ByteBuffer(string: "{\"text\": 42}"),
                                  status: .badRequest, code: "malformed_json")
            try await assertAPIError(client, "/api/search", method: .post, headers: json, body: ByteBuffer(string: "{}"),
                                  status: .badRequest, code: "missing_field")
            try await assertAPIError(client, "/api/search", method: .post, headers: json,
                                  body: ByteBuffer(string: "{\"text\": \"a\", \"image_base64\": \"AAAA\"}"), status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/search", method: .post, headers: json, body: ByteBuffer(string: "{\"image_base64\": \"%%%\"}"),
                                  status: .badRequest, code: "bad_base64")
            try await assertAPIError(client, "/api/search", method: .post, headers: json,
                                  body: ByteBuffer(string: "{\"image_base64\": \"aGVsbG8gd29ybGQ=\"}"), status: .unprocessableContent, code: "unsupported_image")
            try await assertAPIError(client, "/api/search", method: .post, headers: json, body: ByteBuffer(string: "{\"text\": \"cat\", \"limit\": 0}"),
                                  status: .badRequest, code: "bad_parameter")
            try await assertAPIError(client, "/api/search", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "cat"),
                                  status: .unsupportedMediaType, code: "unsupported_content_type")
            try await assertAPIError(client, "/api/search", method: .post, body: ByteBuffer(string: "{\"text\": \"cat\"}"),
                                  status: .unsupportedMediaType, code: "unsupported_content_type")
            try await assertAPIError(client, "/api/search/image", method: .post, headers: [.contentType: "application/json"],
                                  body: ByteBuffer(string: "{}"), status: .unsupportedMediaType, code: "unsupported_content_type")
            try await assertAPIError(client, "/api/search/image", method: .post, headers: [.contentType: "multipart/form-data"],
                                  body: ByteBuffer(string: "x"), status: .badRequest, code: "malformed_multipart")
            try await assertAPIError(client, "/api/search/image", method: .post,
                                  headers: [.contentType: "multipart/form-data; boundary=glimpse-test-boundary"],
                                  body: ByteBuffer(string: "garbage"), status: .badRequest, code: "malformed_multipart")
            try await assertAPIError(client, "/api/search/image", method: .post,
                                  headers: [.contentType: "multipart/form-data; boundary=glimpse-test-boundary"],
                                  body: multipart(field: "photo", filename: "a.jpg", contentType: "image/jpeg", data: [1, 2, 3]),
                                  status: .badRequest, code: "missing_field")
            try await assertAPIError(client, "/api/search/image", method: .post, headers: [.contentType: "image/png"],
                                  body: ByteBuffer(bytes: try ServerFixture.bytes("broken/truncated.jpg")),
                                  status: .unprocessableContent, code: "unsupported_image")
            try await assertAPIError(client, "/api/images", method: .post, headers: [.contentType: "image/jpeg"],
                                  body: ByteBuffer(string: "not an image at all"), status: .unprocessableContent, code: "unsupported_image")
            try await assertAPIError(client, "/api/images", method: .post, headers: [.contentType: "image/jpeg"],
                                  body: ByteBuffer(), status: .unprocessableContent, code: "unsupported_image")
        }
        XCTAssertEqual(try fixture.library.imageCount(), ServerFixture.photos.count, "nothing bad was stored")
    }

    func testUploadLimits() async throws {
        await fixture.remove()
        fixture = try await ServerFixture(configuration: ServerConfiguration(maxUploadBytes: 50_000, maxPixels: 10_000), thumbnails: false)
        try await fixture.test { client in
            try await assertAPIError(client, "/api/images", method: .post, headers: [.contentType: "image/jpeg"],
                                  body: ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 60_000)), status: .contentTooLarge, code: "upload_too_large")
            try await assertAPIError(client, "/api/search/image", method: .post, headers: [.contentType: "image/jpeg"],
                                  body: ByteBuffer(bytes: try ServerFixture.bytes("rocket_444.jpg")), status: .contentTooLarge,
                                  code: "image_too_large")
        }
    }

    func testIndexWithoutCollectionAndWhileRunning() async throws {
        let service = fixture.service
        try await fixture.test { client in
            try await client.execute(uri: "/api/index", method: .post) { XCTAssertEqual($0.status, .accepted) }
            // Refusal while a run is going is pinned deterministically by WriteCostTests.testRescanIsRefusedWhileAnotherWriteRuns.
            for _ in 0..<600 where service.indexStatus.snapshot.state == .running { try await Task.sleep(for: .milliseconds(50)) }
        }
        let empty = NSTemporaryDirectory() + "glimpse-empty-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let emptyService = try await LibraryService(store: try EmbeddedStore(directory: empty), embedder: service.embedder,
                                                    modelName: "clip-tiny-f32", uploadsDirectory: empty + "/uploads",
                                                    configuration: ServerConfiguration())
        defer { Task { await emptyService.shutdown() } }
        let app = Application(router: Routes.router(emptyService))
        try await app.test(.router) { client in
            try await assertAPIError(client, "/api/index", method: .post, status: .conflict, code: "nothing_to_index")
            try await client.execute(uri: "/api/search?q=cat", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.results.count, 0)
            }
        }
    }

    func testBearerTokenGuardsTheAPIButNotThePage() async throws {
        await fixture.remove()
        fixture = try await ServerFixture(configuration: ServerConfiguration(authToken: "s3cret-token"), thumbnails: false)
        let id = try fixture.id(of: "rocket_444.jpg")
        try await fixture.test { client in
            try await assertAPIError(client, "/api/search?q=cat", status: .unauthorized, code: "unauthorized")
            try await assertAPIError(client, "/api/search?q=cat", headers: [.authorization: "Bearer wrong"], status: .unauthorized, code: "unauthorized")
            try await assertAPIError(client, "/metrics", status: .unauthorized, code: "unauthorized")
            try await client.execute(uri: "/api/search?q=cat", method: .get, headers: [.authorization: "Bearer s3cret-token"]) {
                XCTAssertEqual($0.status, .ok)
            }
            try await client.execute(uri: "/api/images/\(id)/thumbnail?access_token=s3cret-token", method: .get) {
                XCTAssertEqual($0.status, .ok)
            }
            try await client.execute(uri: "/", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/healthz", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/openapi.json", method: .get) { XCTAssertEqual($0.status, .ok) }
        }
    }

    func testCORSOnlyWhenConfigured() async throws {
        try await fixture.test { client in
            try await client.execute(uri: "/api/info", method: .get, headers: [.origin: "https://evil.example"]) { response in
                XCTAssertNil(response.headers[.accessControlAllowOrigin])
            }
        }
        await fixture.remove()
        fixture = try await ServerFixture(configuration: ServerConfiguration(corsOrigin: "https://app.example"), thumbnails: false)
        try await fixture.test { client in
            try await client.execute(uri: "/api/info", method: .get, headers: [.origin: "https://app.example"]) { response in
                XCTAssertEqual(response.headers[.accessControlAllowOrigin], "https://app.example")
            }
        }
    }

    func testConcurrentTextQueriesAreBatched() async throws {
        let service = fixture.service
        let options = SearchOptions(limit: 3, offset: 0, minScore: nil)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<32 { group.addTask { try await service.search(text: "query number \(i)", options: options).count } }
            for try await count in group { XCTAssertEqual(count, 3) }
        }
        // Each distinct query was encoded exactly once, in batches of at most maxQueryBatch (16).
        let metrics = service.metrics.render()
        func value(_ name: String) -> Double? {
            metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        XCTAssertEqual(value("glimpse_text_query_batch_size_sum"), 32, metrics)
        let batches = try XCTUnwrap(value("glimpse_text_query_batch_size_count"))
        XCTAssertEqual(value(#"glimpse_text_query_batch_size_bucket{le="16.0"}"#) ?? value(#"glimpse_text_query_batch_size_bucket{le="16"}"#), batches)
        XCTAssertGreaterThanOrEqual(batches, 2, "32 queries cannot fit one batch of 16")
    }
}

func assertAPIError(_ client: any TestClientProtocol, _ uri: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:],
                 body: ByteBuffer? = nil, status: HTTPResponse.Status, code: String,
                 file: StaticString = #filePath, line: UInt = #line) async throws {
    try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
        XCTAssertEqual(response.status, status, "\(method) \(uri)", file: file, line: line)
        XCTAssertEqual(response.errorCode, code, "\(method) \(uri): \(String(buffer: response.body))", file: file, line: line)
        XCTAssertEqual(response.headers[.contentType], "application/json; charset=utf-8", file: file, line: line)
        XCTAssertNotNil((response.json["error"] as? [String: Any])?["message"] as? String, file: file, line: line)
    }
}
