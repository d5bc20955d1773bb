import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GlimpseSources
import XCTest

/// `glimpse index s3://bucket/prefix/` against a real S3 protocol server on loopback (moto, started by
/// scripts/s3.sh; skipped, saying why, when GLIMPSE_TEST_S3_ENDPOINT is not set): 50 objects over two listing pages,
/// signed requests, a changed object indexed again, a deleted one removed.
final class S3IndexCLITests: XCTestCase {
    var root = ""
    let model = fixturesPath + "/models/clip-tiny-f32"

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "glimpse-s3-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func endpoint() throws -> String {
        guard let endpoint = ProcessInfo.processInfo.environment["GLIMPSE_TEST_S3_ENDPOINT"], !endpoint.isEmpty else {
            throw XCTSkip("GLIMPSE_TEST_S3_ENDPOINT is not set (scripts/test.sh starts moto with scripts/s3.sh)")
        }
        return endpoint
    }

    /// A signed request to the test server (PUT an object, create or delete).
    func send(_ method: String, _ endpoint: String, path: String, body: Data = Data()) throws -> Int {
        let url = URL(string: endpoint + path)!
        let host = url.host! + (url.port.map { ":\($0)" } ?? "")
        let signer = AWSSignatureV4(credentials: AWSCredentials(accessKeyID: "testing", secretAccessKey: "testing"), region: "us-east-1")
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.httpBody = body
        for (name, value) in signer.sign(method: method, path: url.path, query: [], headers: ["host": host], payloadHash: "UNSIGNED-PAYLOAD") {
            request.setValue(value, forHTTPHeaderField: name)
        }
        final class Box: @unchecked Sendable { var status = 0 }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { _, response, _ in
            box.status = (response as? HTTPURLResponse)?.statusCode ?? 0
            done.signal()
        }.resume()
        done.wait()
        return box.status
    }

    func testIndexesAPrefixOverSeveralPagesFollowsChangesAndDeletions() throws {
        let endpoint = try endpoint()
        let bucket = "glimpse-\(UUID().uuidString.prefix(8).lowercased())"
        XCTAssertEqual(try send("PUT", endpoint, path: "/\(bucket)"), 200)
        let images = ["rocket_444.jpg", "camera_gray.jpg", "tiny_3x5.png", "coffee_lossy.webp", "astronaut_baseline.jpg"]
        for i in 0..<50 {
            let name = images[i % images.count]
            let data = try Data(contentsOf: URL(fileURLWithPath: fixturesPath + "/images/" + name))
            XCTAssertEqual(try send("PUT", endpoint, path: "/\(bucket)/photos/\(i)-\(name)", body: data), 200)
        }
        // Outside the prefix, and not an image: neither is indexed.
        XCTAssertEqual(try send("PUT", endpoint, path: "/\(bucket)/other/x.jpg", body: try Data(contentsOf: URL(fileURLWithPath: fixturesPath + "/images/tiny_3x5.png"))), 200)
        XCTAssertEqual(try send("PUT", endpoint, path: "/\(bucket)/photos/readme.txt", body: Data("hello".utf8)), 200)

        let environment = ["AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
                           "AWS_ENDPOINT_URL": endpoint, "XDG_CACHE_HOME": root + "/cache"]
        func index() throws -> [String: Any] {
            // Endpoint from the environment is the user's own: loopback allowed without --allow-private-network.
            let run = try runGlimpse(["index", "s3://\(bucket)/photos/", "--library", root + "/lib", "--model", model, "--json",
                                      "--s3-page-size", "25"], environment: environment)
            XCTAssertEqual(run.status, 0, run.stderr)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], run.stdout + run.stderr)
        }
        let first = try index()
        XCTAssertEqual(first["added"] as? Int, 50, "\(first)")
        XCTAssertEqual((first["failed"] as? [Any])?.count, 0, "\(first)")

        let hits = try runGlimpse(["search", "x", "--library", root + "/lib", "--model", model, "--json", "--limit", "100",
                                   "--where", "key contains \"photos/1\""])
        let found = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(hits.stdout.utf8)) as? [[String: Any]], hits.stderr)
        XCTAssertEqual(found.count, 11, "photos/1-… and photos/10…19")
        XCTAssertTrue(found.allSatisfy { ($0["url"] as? String)?.hasPrefix("s3://\(bucket)/photos/1") ?? false })

        let unchanged = try index()
        XCTAssertEqual(unchanged["unchanged"] as? Int, 50, "\(unchanged)")
        XCTAssertEqual(unchanged["fetched"] as? Int, 0)

        // One object replaced by another image, one deleted.
        let other = try Data(contentsOf: URL(fileURLWithPath: fixturesPath + "/images/chelsea_palette.png"))
        XCTAssertEqual(try send("PUT", endpoint, path: "/\(bucket)/photos/0-rocket_444.jpg", body: other), 200)
        XCTAssertEqual(try send("DELETE", endpoint, path: "/\(bucket)/photos/1-camera_gray.jpg"), 204)
        let changed = try index()
        XCTAssertEqual(changed["updated"] as? Int, 1, "\(changed)")
        XCTAssertEqual(changed["removed"] as? Int, 1)
        XCTAssertEqual(changed["fetched"] as? Int, 1)
        XCTAssertEqual(changed["unchanged"] as? Int, 48)
    }

    func testMissingCredentialsAreAClearError() throws {
        let run = try runGlimpse(["index", "s3://bucket/prefix/", "--library", root + "/lib", "--model", model],
                                 environment: ["AWS_ACCESS_KEY_ID": "", "HOME": root, "AWS_SHARED_CREDENTIALS_FILE": root + "/none"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("S3 credentials"), run.stderr)
    }
}
