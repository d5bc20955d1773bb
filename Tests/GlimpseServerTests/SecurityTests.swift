import Foundation
@testable import GlimpseServer
import GlimpseEngine
import GlimpseStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// The holes the hardening issue closed, each pinned: the token bypass by path spelling, DNS rebinding, cross-site
/// writes, unbounded query text, unbounded concurrent decodes.
final class SecurityTests: XCTestCase {
    var fixture: ServerFixture!
    override func tearDown() async throws { await fixture?.remove() }

    /// Every spelling that reaches a protected handler must carry the token (`//api/...` used to skip it).
    func testTokenIsRequiredWhateverThePathSpelling() async throws {
        fixture = try await ServerFixture(configuration: ServerConfiguration(authToken: "s3cret-token"), thumbnails: false)
        let id = try fixture.id(of: "rocket_444.jpg")
        let original = try ServerFixture.bytes("rocket_444.jpg")
        let spellings = [
            "/api/images/\(id)/file", "//api/images/\(id)/file", "/api//images/\(id)/file", "///api///images//\(id)//file",
            "/./api/images/\(id)/file", "/api/./images/\(id)/file", "/x/../api/images/\(id)/file", "/%2Fapi/images/\(id)/file",
            "/api%2Fimages%2F\(id)%2Ffile", "/%61pi/images/\(id)/file", "/api/images/\(id)/file.", "/api/images/\(id)/file/",
            "/api/images/\(id)/file/.", "/api/images/\(id)/file?", "/api/images/\(id)/file#", "//api/search?q=rocket",
            "/api/info", "//api/info", "/metrics", "//metrics", "/metrics/", "/./metrics",
        ]
        try await fixture.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            for target in spellings {
                let anonymous = try RawHTTP.get(port: port, target)
                XCTAssertTrue([401, 404, 400].contains(anonymous.status), "\(target) without a token answered \(anonymous.status)")
                XCTAssertNotEqual(anonymous.body, original, "\(target) served the file without a token")
                XCTAssertFalse(String(decoding: anonymous.body, as: UTF8.self).contains("\"images\""), "\(target) leaked library info")
                let wrong = try RawHTTP.get(port: port, target, headers: ["Authorization: Bearer s3cret-tokeX"])
                XCTAssertTrue([401, 404, 400].contains(wrong.status), "\(target) with a wrong token answered \(wrong.status)")
            }
            // The real spellings still work with the token.
            for target in ["/api/images/\(id)/file", "//api/images/\(id)/file", "/api/info", "/metrics"] {
                let authorised = try RawHTTP.get(port: port, target, headers: ["Authorization: Bearer s3cret-token"])
                XCTAssertEqual(authorised.status, 200, target)
            }
            XCTAssertEqual(try RawHTTP.get(port: port, "/api/images/\(id)/file", headers: ["Authorization: Bearer s3cret-token"]).body, original)
            XCTAssertEqual(try RawHTTP.get(port: port, "/api/images/\(id)/file?access_token=s3cret-token").status, 200)
        }
    }

    func testTokenComparisonChecksEveryByte() {
        XCTAssertTrue(TokenAuthorization.constantTimeEqual("abc", "abc"))
        XCTAssertFalse(TokenAuthorization.constantTimeEqual("abc", "abd"))
        XCTAssertFalse(TokenAuthorization.constantTimeEqual("abc", "abcd"))
        XCTAssertFalse(TokenAuthorization.constantTimeEqual("", "a"))
        XCTAssertTrue(TokenAuthorization.protects(template: "/api/images/{id}/file"))
        XCTAssertTrue(TokenAuthorization.protects(template: "/metrics"))
        XCTAssertFalse(TokenAuthorization.protects(template: "/healthz"))
    }

    /// DNS rebinding: a page whose name points at 127.0.0.1 reaches the server with its own name as `Host`.
    func testForeignHostIsRefusedWithoutAToken() async throws {
        fixture = try await ServerFixture(thumbnails: false)
        try await fixture.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            for host in ["evil.example", "evil.example:\(port)", "127.0.0.1.evil.example", "localhost.evil.example", "127.0.0.1:80@evil.example",
                         "[::1].evil.example", "0x7f.0.0.1", "2130706433", "127.1", "::1"] {
                let answer = try RawHTTP.get(port: port, "/api/info", host: host)
                XCTAssertTrue([403, 400].contains(answer.status), "Host \(host) answered \(answer.status)")
                XCTAssertFalse(String(decoding: answer.body, as: UTF8.self).contains("\"images\""), host)
            }
            for host in ["127.0.0.1", "127.0.0.1:\(port)", "localhost", "localhost:\(port)", "LOCALHOST", "[::1]:\(port)", "127.8.9.10",
                         "app.localhost:\(port)"] {
                XCTAssertEqual(try RawHTTP.get(port: port, "/api/info", host: host).status, 200, "Host \(host)")
            }
        }
        // With a token (any bind address), the token is the guard: other names are answered.
        await fixture.remove()
        fixture = try await ServerFixture(configuration: ServerConfiguration(authToken: "t0ken"), thumbnails: false)
        try await fixture.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            XCTAssertEqual(try RawHTTP.get(port: port, "/api/info", host: "photos.example", headers: ["Authorization: Bearer t0ken"]).status, 200)
        }
    }

    func testLoopbackNamesAreParsedNotPrefixMatched() {
        for yes in ["localhost", "localhost:8080", "localhost.", "127.0.0.1", "127.255.255.254:1", "[::1]", "[::1]:8080", "a.localhost"] {
            XCTAssertTrue(SameOriginMiddleware.isLoopbackAuthority(yes), yes)
        }
        for no in ["127.0.0.1.nip.io", "127.0.0.1:80:80", "128.0.0.1", "127.0.0.256", "[::2]", "[::1]x", "localhost:http", "", "evil.example"] {
            XCTAssertFalse(SameOriginMiddleware.isLoopbackAuthority(no), no)
        }
        XCTAssertTrue(ServerConfiguration.isLoopback("::1"))
        XCTAssertFalse(ServerConfiguration.isLoopback("127.0.0.1.evil.example"))
    }

    /// A page on another site may send a form or a no-cors fetch to 127.0.0.1; writes from it are refused.
    func testCrossSiteWritesAreRefused() async throws {
        fixture = try await ServerFixture(thumbnails: false)
        let id = try fixture.id(of: "rocket_444.jpg")
        let jpeg = try ServerFixture.bytes("rocket_exif6.jpg")
        try await fixture.test { client in
            try await assertAPIError(client, "/api/images/\(id)", method: .delete, headers: [.origin: "https://evil.example"],
                                     status: .forbidden, code: "cross_site_request")
            try await assertAPIError(client, "/api/images", method: .post,
                                     headers: [.origin: "null", .contentType: "image/jpeg"], body: ByteBuffer(bytes: jpeg),
                                     status: .forbidden, code: "cross_site_request")
            try await assertAPIError(client, "/api/index", method: .post, headers: [SameOriginMiddleware.secFetchSite: "cross-site"],
                                     status: .forbidden, code: "cross_site_request")
            try await assertAPIError(client, "/api/index", method: .post, headers: [SameOriginMiddleware.secFetchSite: "same-site"],
                                     status: .forbidden, code: "cross_site_request")
            try await assertAPIError(client, "/api/search", method: .post,
                                     headers: [.origin: "http://localhost.evil.example", .contentType: "application/json"],
                                     body: ByteBuffer(string: #"{"text": "cat"}"#), status: .forbidden, code: "cross_site_request")
            // The image is still there, and the page's own origin (and plain clients) may write.
            try await client.execute(uri: "/api/images/\(id)", method: .get) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/search", method: .post,
                                     headers: [.origin: "http://localhost", .contentType: "application/json",
                                               SameOriginMiddleware.secFetchSite: "same-origin"],
                                     body: ByteBuffer(string: #"{"text": "cat"}"#)) { XCTAssertEqual($0.status, .ok) }
            try await client.execute(uri: "/api/images/\(id)", method: .delete) { XCTAssertEqual($0.status, .noContent) }
            // Reads from anywhere stay possible (the browser keeps their answers from the page without CORS).
            try await client.execute(uri: "/api/info", method: .get, headers: [.origin: "https://evil.example"]) {
                XCTAssertEqual($0.status, .ok)
            }
        }
        await fixture.remove()
        fixture = try await ServerFixture(configuration: ServerConfiguration(corsOrigin: "https://app.example"), thumbnails: false)
        let other = try fixture.id(of: "rocket_444.jpg")
        try await fixture.test { client in
            try await client.execute(uri: "/api/images/\(other)", method: .delete, headers: [.origin: "https://app.example"]) {
                XCTAssertEqual($0.status, .noContent)
            }
            try await assertAPIError(client, "/api/index", method: .post, headers: [.origin: "https://evil.example"],
                                     status: .forbidden, code: "cross_site_request")
        }
    }

    /// A 100 KB query is refused before the tokenizer and the encoder see it; other queries keep being answered.
    func testHugeQueriesAreRefusedAndDoNotStallOthers() async throws {
        fixture = try await ServerFixture(thumbnails: false)
        let huge = String(repeating: "a red flower ", count: 8_000)  // 104 KB
        let service = fixture.service
        try await fixture.test { client in
            let query = huge.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            try await assertAPIError(client, "/api/search?q=\(query)", status: .badRequest, code: "query_too_long")
            let json = try JSONSerialization.data(withJSONObject: ["text": huge])
            try await assertAPIError(client, "/api/search", method: .post, headers: [.contentType: "application/json"],
                                     body: ByteBuffer(bytes: json), status: .badRequest, code: "query_too_long")
            let limit = String(repeating: "é", count: 2048)  // 4096 bytes of UTF-8: exactly the limit
            try await client.execute(uri: "/api/search?q=\(limit.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)", method: .get) {
                XCTAssertEqual($0.status, .ok)
            }
        }
        let options = SearchOptions(limit: 2, offset: 0, minScore: nil)
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask {
                    if i % 2 == 0 {
                        do { _ = try await service.search(text: huge + "\(i)", options: options); return false } catch APIError.queryTooLong { return true }
                    }
                    return try await service.search(text: "a photo number \(i)", options: options).count == 2
                }
            }
            for try await ok in group { XCTAssertTrue(ok) }
        }
    }

    /// Uploads and searches by image decode through a queue as wide as the configuration says, however many come.
    func testImageDecodesAreBounded() async throws {
        let queue = BlockingWorkQueue(width: 2)
        final class Counter: @unchecked Sendable { let lock = NSLock(); var now = 0; var most = 0 }
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<12 {
                group.addTask {
                    try await queue.run {
                        counter.lock.withLock { counter.now += 1; counter.most = max(counter.most, counter.now) }
                        Thread.sleep(forTimeInterval: 0.02)
                        counter.lock.withLock { counter.now -= 1 }
                    }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(counter.most, 2)
        XCTAssertEqual(queue.peakConcurrency, 2)

        fixture = try await ServerFixture(configuration: ServerConfiguration(maxConcurrentDecodes: 1), thumbnails: false)
        let service = fixture.service
        let bytes = try ServerFixture.bytes("rocket_444.jpg")
        let options = SearchOptions(limit: 1, offset: 0, minScore: nil)
        try await withThrowingTaskGroup(of: Int64?.self) { group in
            for _ in 0..<6 { group.addTask { try await service.search(imageBytes: bytes, options: options).first?.id } }
            for try await id in group { XCTAssertEqual(id, try fixture.id(of: "rocket_444.jpg")) }
        }
        XCTAssertEqual(service.decodes.peakConcurrency, 1)
    }

    /// File responses are streamed from disk in 64 KB chunks: a file of several chunks arrives whole, with its ETag.
    func testLargeFilesArriveWholeWhenStreamed() async throws {
        fixture = try await ServerFixture(thumbnails: false)
        let big = fixture.folder + "/big.jpg"
        try FileManager.default.copyItem(atPath: ServerFixture.fixtures + "/images/coffee_large.jpg", toPath: big)
        let record = try await fixture.service.makeIndexer().index(file: big)
        try await fixture.service.applyChanges()
        let id = try XCTUnwrap(record.id)
        try await fixture.test(.live) { client in
            let port = try XCTUnwrap(client.port)
            let answer = try RawHTTP.get(port: port, "/api/images/\(id)/file")
            XCTAssertEqual(answer.status, 200)
            XCTAssertEqual(answer.body, try ServerFixture.bytes("coffee_large.jpg"))
            XCTAssertTrue(answer.head.lowercased().contains("etag: \"f-\(record.contentHash)\""), answer.head)
            XCTAssertTrue(answer.head.lowercased().contains("content-length: 282523"), answer.head)
        }
    }
}
