import Foundation
import GlimpseStore
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The multi-machine set-up against a shared store, as users run it: two index workers on shards 0/2 and 1/2, two
/// servers on other ports over the same store, kill -9 during indexing, and moving a library between stores with
/// export | import. Each store's subclass says where its server is (`SharedPostgresCLITests`,
/// `SharedMilvusCLITests`); each is skipped, saying why, without its server (scripts/test.sh starts them).
class SharedStoreCLITestCase: XCTestCase {
    let model = fixturesPath + "/models/clip-tiny-f32"
    var root = ""
    var photos: String { root + "/photos" }
    var url = ""
    var servers: [Process] = []

    /// A URL for a new, empty store of this kind (throws XCTSkip when there is no server).
    func freshStoreURL() throws -> String {
        throw XCTSkip("the shared-store CLI tests run through a store's subclass")
    }

    /// What /api/info reports as the index kind.
    var indexKind: String { "" }

    func openStore() async throws -> any ImageStore { try await StoreLocation(url).open(create: false) }

    func destroyStore() async {}

    override func setUpWithError() throws {
        url = try freshStoreURL()
        root = NSTemporaryDirectory() + "glimpse-shared-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: photos, withIntermediateDirectories: true)
        let names = ["rocket_444.jpg", "coffee_progressive.jpg", "chelsea_palette.png", "astronaut_baseline.jpg", "camera_gray.jpg",
                     "coffee_lossy.webp"]
        for name in names { try FileManager.default.copyItem(atPath: fixturesPath + "/images/" + name, toPath: photos + "/" + name) }
    }

    override func tearDown() async throws {
        for server in servers where server.isRunning { server.terminate(); server.waitUntilExit() }
        if !url.isEmpty { await destroyStore() }
        try? FileManager.default.removeItem(atPath: root)
    }

    func glimpse(_ arguments: [String]) throws -> GlimpseRun { try runGlimpse(arguments) }

    func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    func count() async throws -> Int {
        let store = try await openStore()
        let n = try await store.imageCount()
        await store.close()
        return n
    }

    func testTwoShardWorkersThenTwoServersSeeEachOthersWrites() async throws {
        // Two workers at once, one shard each.
        let workers = try (0..<2).map { i in
            try startGlimpse(["index", photos, "--store", url, "--model", model, "--shard", "\(i)/2", "--json"], stdout: Pipe())
        }
        var added = 0
        for worker in workers {
            let out = (worker.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
            worker.waitUntilExit()
            XCTAssertEqual(worker.terminationStatus, 0)
            added += (try JSONSerialization.jsonObject(with: out) as? [String: Any])?["added"] as? Int ?? -100
        }
        let total = try FileManager.default.contentsOfDirectory(atPath: photos).count
        XCTAssertEqual(added, total, "the shards split the collection with no overlap")
        let stored = try await count()
        XCTAssertEqual(stored, total)

        // Two servers over the store; an upload through one is found through the other, a delete through the other
        // is gone from the first.
        let uploads = root + "/uploads"
        let ports = [freePort(), freePort()]
        for port in ports { try startServer(port: port, extra: ["--uploads", uploads]) }
        for port in ports { try waitUntilHealthy(port: port) }
        let first = try curl(port: ports[0], "/api/search?q=rocket&limit=50")
        let second = try curl(port: ports[1], "/api/search?q=rocket&limit=50")
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(ids(first.body), ids(second.body), "both servers answer the same")
        XCTAssertEqual(ids(first.body).count, total)

        let upload = try curl(port: ports[0], "/api/images", method: "POST", file: fixturesPath + "/images/rocket_exif6.jpg")
        XCTAssertEqual(upload.status, 201, upload.body)
        let uploaded = try XCTUnwrap((try json(upload.body) as? [String: Any])?["id"] as? Int)
        let seen = try curl(port: ports[1], "/api/search?q=rocket&limit=50")
        XCTAssertTrue(ids(seen.body).contains(uploaded), "server 2 finds what server 1 indexed")
        let thumbnail = try curl(port: ports[1], "/api/images/\(uploaded)/thumbnail")
        XCTAssertEqual(thumbnail.status, 200, "thumbnails come from the database, not the indexer's disk")

        let removed = try curl(port: ports[1], "/api/images/\(uploaded)", method: "DELETE")
        XCTAssertEqual(removed.status, 204, removed.body)
        let after = try curl(port: ports[0], "/api/search?q=rocket&limit=50")
        XCTAssertFalse(ids(after.body).contains(uploaded), "server 1 no longer finds what server 2 deleted")
        let info = try json(try curl(port: ports[0], "/api/info").body) as? [String: Any]
        XCTAssertEqual(info?["index_kind"] as? String, indexKind)
        XCTAssertEqual(info?["images"] as? Int, total)
    }

    /// kill -9 while indexing into the store, then run again: every image is stored exactly once.
    func testKillDuringIndexingThenResumeEndsComplete() async throws {
        let total = try addCopies(in: photos, count: 60)
        let process = try startGlimpse(["index", photos, "--store", url, "--model", model, "--batch-size", "1", "--json"])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            if let n = try? await count(), n >= 3 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        let committed = try await count()

        let resumed = try glimpse(["index", photos, "--store", url, "--json"] + ["--model", model])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let s = try XCTUnwrap(try json(resumed.stdout) as? [String: Any])
        XCTAssertEqual(s["unchanged"] as? Int, committed, "\(s)")
        XCTAssertEqual((s["added"] as? Int ?? 0) + (s["unchanged"] as? Int ?? 0), total, "\(s)")
        let final = try await count()
        XCTAssertEqual(final, total)
        let search = try glimpse(["search", "--image", photos + "/rocket_444.jpg", "--store", url, "--json", "--limit", String(total + 5)])
        XCTAssertEqual(search.status, 0, search.stderr)
        let hits = try XCTUnwrap(try json(search.stdout) as? [[String: Any]])
        XCTAssertEqual(Set(hits.compactMap { $0["path"] as? String }).count, total)
    }

    /// A library moves into the store (and back into another folder) with its embeddings: same results, no model run.
    func testExportImportMovesALibraryWithoutReembedding() throws {
        let library = root + "/library"
        XCTAssertEqual(try glimpse(["index", photos, "--library", library, "--model", model, "--json"]).status, 0)
        let exported = try glimpse(["export", "--library", library])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let file = root + "/export.jsonl"
        try exported.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        for target in [["--store", url], ["--library", root + "/copy"]] {
            let imported = try glimpse(["import", "--input", file] + target)
            XCTAssertEqual(imported.status, 0, imported.stderr)
            XCTAssertTrue(imported.stderr.contains("imported 6 images"), imported.stderr)
            let again = try glimpse(["import", "--input", file] + target)
            XCTAssertEqual(again.status, 0, again.stderr)
            let query = ["search", "--image", photos + "/coffee_lossy.webp", "--json", "--limit", "6"]
            let original = try glimpse(query + ["--library", library])
            let moved = try glimpse(query + target)
            XCTAssertEqual(moved.status, 0, moved.stderr)
            let a = try XCTUnwrap(try json(original.stdout) as? [[String: Any]])
            let b = try XCTUnwrap(try json(moved.stdout) as? [[String: Any]])
            XCTAssertEqual(a.map { $0["path"] as? String }, b.map { $0["path"] as? String }, "\(target)")
            for (x, y) in zip(a, b) {
                XCTAssertEqual((x["score"] as? Double) ?? 0, (y["score"] as? Double) ?? 1, accuracy: 1e-5)
            }
        }
        // The store keeps its model: importing an export of another model is refused.
        var other = try String(contentsOfFile: file, encoding: .utf8)
        other = other.replacingOccurrences(of: "\"fingerprint\":\"", with: "\"fingerprint\":\"x")
        try other.write(toFile: file, atomically: true, encoding: .utf8)
        let refused = try glimpse(["import", "--input", file, "--store", url])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("clip-tiny-f32"), refused.stderr)
    }

    // MARK: Helpers

    func startServer(port: Int, extra: [String] = []) throws {
        servers.append(try startGlimpse(["serve", "--store", url, "--port", String(port), "--log-level", "error"] + extra))
    }

    func waitUntilHealthy(port: Int) throws {
        for _ in 0..<300 {
            if let answer = try? curl(port: port, "/healthz"), answer.status == 200 { return }
            usleep(100_000)
        }
        XCTFail("server on port \(port) did not start")
    }

    func ids(_ body: String) -> [Int] {
        let results = ((try? json(body)) as? [String: Any])?["results"] as? [[String: Any]] ?? []
        return results.compactMap { $0["id"] as? Int }
    }

    func curl(port: Int, _ path: String, method: String = "GET", file: String? = nil) throws -> (status: Int, body: String) {
        var arguments = ["-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "http://127.0.0.1:\(port)\(path)"]
        if let file { arguments += ["-H", "Content-Type: image/jpeg", "--data-binary", "@" + file] }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard let newline = text.lastIndex(of: "\n"), let status = Int(text[text.index(after: newline)...]) else { return (0, text) }
        return (status, String(text[..<newline]))
    }

    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// The shared-store CLI tests against PostgreSQL + pgvector (`$GLIMPSE_TEST_POSTGRES_URL`), each in a schema of its own.
final class SharedPostgresCLITests: SharedStoreCLITestCase {
    override func freshStoreURL() throws -> String {
        guard let base = ProcessInfo.processInfo.environment["GLIMPSE_TEST_POSTGRES_URL"], !base.isEmpty else {
            throw XCTSkip("no PostgreSQL: set GLIMPSE_TEST_POSTGRES_URL (scripts/postgres.sh start prints one)")
        }
        return base + (base.contains("?") ? "&" : "?") + "schema=cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    override var indexKind: String { "pgvector-hnsw" }

    override func destroyStore() async {
        if let store = try? await PostgresStore.open(try PostgresURL(url), create: false) {
            try? await store.destroy()
            await store.close()
        }
    }

    func testMissingTablesAndBadURLsAreClearErrors() throws {
        let search = try glimpse(["search", "x", "--store", url])
        XCTAssertNotEqual(search.status, 0)
        XCTAssertTrue(search.stderr.contains("glimpse index"), search.stderr)
        let bad = try glimpse(["search", "x", "--store", "postgres://nobody@127.0.0.1/db?sslmode=maybe"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("sslmode"), bad.stderr)
        let both = try glimpse(["search", "x", "--store", url, "--library", root])
        XCTAssertNotEqual(both.status, 0)
    }

}

/// The shared-store CLI tests against Milvus (`$GLIMPSE_TEST_MILVUS_URL`, milvus-lite in CI), each in collections of
/// its own.
final class SharedMilvusCLITests: SharedStoreCLITestCase {
    override func freshStoreURL() throws -> String {
        guard let base = ProcessInfo.processInfo.environment["GLIMPSE_TEST_MILVUS_URL"], !base.isEmpty else {
            throw XCTSkip("no Milvus: set GLIMPSE_TEST_MILVUS_URL (scripts/milvus.sh start prints one)")
        }
        return (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
    }

    override var indexKind: String { "milvus-hnsw" }

    override func destroyStore() async {
        if let store = try? await MilvusStore.open(try MilvusURL(url), create: false) {
            try? await store.destroy()
            await store.close()
        }
    }

    func testMissingCollectionAndBadURLsAreClearErrors() throws {
        let search = try glimpse(["search", "x", "--store", url])
        XCTAssertNotEqual(search.status, 0)
        XCTAssertTrue(search.stderr.contains("glimpse index"), search.stderr)
        let bad = try glimpse(["search", "x", "--store", url + "?consistency=sometimes"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("consistency"), bad.stderr)
        let name = try glimpse(["search", "x", "--store", "milvus://127.0.0.1:19530/my-photos"])
        XCTAssertNotEqual(name.status, 0)
        XCTAssertTrue(name.stderr.contains("collection name"), name.stderr)
    }
}
