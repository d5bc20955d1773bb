import Foundation
@testable import GlimpseHub
import XCTest

/// `HubClient` against `HubTestServer`: the Hub protocol, the cache layout, resuming, checksums, errors.
final class ModelDownloadTests: XCTestCase {
    static let repo = "test-org/tiny-clip"

    /// A fake CLIP repo: small Git files, one ~1.5 MB LFS checkpoint, and files that must never be fetched.
    static func modelFiles() -> [HubTestServer.File] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var weights = Data(count: 1_536_123)
        weights.withUnsafeMutableBytes { raw in
            for i in 0 ..< raw.count {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                raw[i] = UInt8(truncatingIfNeeded: state >> 33)
            }
        }
        func text(_ name: String, _ body: String) -> HubTestServer.File { .init(name: name, data: Data(body.utf8), lfs: false) }
        return [
            text(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"),
            text("README.md", "# tiny clip\n"),
            text("config.json", #"{"model_type": "clip", "projection_dim": 8}"#),
            .init(name: "model.safetensors", data: weights, lfs: true),
            .init(name: "pytorch_model.bin", data: Data(repeating: 7, count: 4096), lfs: true),
            text("tokenizer.json", #"{"model": {"type": "BPE"}}"#),
            text("tokenizer_config.json", #"{"model_max_length": 77}"#),
            text("special_tokens_map.json", #"{"bos_token": "<|startoftext|>"}"#),
            text("vocab.json", #"{"a": 0, "b</w>": 1}"#),
            text("merges.txt", "#version: 0.2\na b</w>\n"),
            text("preprocessor_config.json", #"{"crop_size": 224}"#),
        ]
    }

    static let fetched = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                          "vocab.json", "merges.txt", "preprocessor_config.json"]

    var server: HubTestServer!
    var home: String!

    override func setUpWithError() throws {
        server = try HubTestServer(repo: Self.repo, files: Self.modelFiles())
        home = NSTemporaryDirectory() + "glimpse-hub-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        server.stop()
        try? FileManager.default.removeItem(atPath: home)
    }

    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        ["HF_ENDPOINT": server.endpoint.absoluteString, "HF_HOME": home, "HOME": home].merging(extra) { $1 }
    }

    func client(_ extra: [String: String] = [:]) -> HubClient {
        var client = HubClient(environment: environment(extra))
        client.retryDelay = 0.02
        return client
    }

    var repoFolder: String { home + "/hub/models--test-org--tiny-clip" }
    var weights: HubTestServer.File { server.file("model.safetensors")! }
    var weightsBlob: String { repoFolder + "/blobs/" + HubTestServer.sha256(weights.data) }

    func expectError(_ body: () async throws -> Void, file: StaticString = #filePath, line: UInt = #line) async -> HubError? {
        do {
            try await body()
            XCTFail("no error", file: file, line: line)
        } catch let error as HubError {
            return error
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: - Layout

    func testFullDownloadProducesTheHubCacheLayout() async throws {
        let events = EventLog()
        let folder = try await client().download(repo: Self.repo) { events.add($0) }

        XCTAssertEqual(folder, repoFolder + "/snapshots/" + server.commit)
        XCTAssertEqual(try String(contentsOfFile: repoFolder + "/refs/main", encoding: .utf8), server.commit)
        let fm = FileManager.default
        XCTAssertEqual(Set(try fm.contentsOfDirectory(atPath: folder)), Set(Self.fetched))
        for name in Self.fetched {
            let file = server.file(name)!
            let etag = file.lfs ? HubTestServer.sha256(file.data) : HubDigest.gitBlobID(file.data)
            XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: folder + "/" + name), "../../blobs/" + etag, name)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)), file.data, name)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: repoFolder + "/blobs/" + etag)), file.data, name)
        }
        let blobs = try fm.contentsOfDirectory(atPath: repoFolder + "/blobs")
        XCTAssertEqual(blobs.count, Self.fetched.count)
        XCTAssertFalse(blobs.contains { $0.hasSuffix(".incomplete") })
        XCTAssertEqual(HubCache(root: home + "/hub").snapshotFolder(repo: Self.repo), folder)

        // Protocol: the file list from the API, a HEAD per file with identity encoding, the LFS file through the CDN.
        let requests = server.requests
        XCTAssertEqual(requests.first?.path, "/api/models/\(Self.repo)/revision/main")
        let heads = requests.filter { $0.method == "HEAD" }
        XCTAssertEqual(Set(heads.map(\.path)), Set(Self.fetched.map { "/\(Self.repo)/resolve/\(server.commit)/\($0)" }))
        XCTAssertTrue(requests.allSatisfy { $0.headers["accept-encoding"] == "identity" })
        XCTAssertTrue(requests.contains { $0.method == "GET" && $0.path.hasPrefix("/cdn/") })
        XCTAssertFalse(requests.contains { $0.path.contains("pytorch_model.bin") || $0.path.contains("README.md") })
        XCTAssertTrue(requests.allSatisfy { $0.headers["authorization"] == nil })

        // Progress ends with every byte of every file accounted for.
        let total = Int64(Self.fetched.map { server.file($0)!.data.count }.reduce(0, +))
        let last = try XCTUnwrap(events.all.last)
        XCTAssertEqual(last.total, total)
        XCTAssertEqual(last.completed, total)
        XCTAssertEqual(last.fractionCompleted, 1)
        XCTAssertEqual(events.all.filter { $0.phase == .finished }.count, Self.fetched.count)
        XCTAssertTrue(events.all.contains { $0.file == "model.safetensors" && $0.phase == .verifying })
        XCTAssertEqual(events.all.map(\.completed), events.all.map(\.completed).sorted())
    }

    func testSecondResolveUsesTheCacheWithoutNetwork() async throws {
        let first = try await ModelLocator.resolve(Self.repo, client: client(), environment: environment())
        let count = server.requests.count
        server.stop()
        let second = try await ModelLocator.resolve(Self.repo, client: client(), environment: environment())
        XCTAssertEqual(first, second)
        XCTAssertEqual(server.requests.count, count)
        // An explicit download while the Hub is unreachable falls back to the complete cached snapshot too.
        let third = try await client().download(repo: Self.repo)
        XCTAssertEqual(third, first)
        // And so does offline mode, without trying the network.
        let offline = try await client(["HF_HUB_OFFLINE": "1"]).download(repo: Self.repo)
        XCTAssertEqual(offline, first)
    }

    func testADownloadAgainOnlyChecksTheFileList() async throws {
        _ = try await client().download(repo: Self.repo)
        let count = server.requests.count
        let events = EventLog()
        _ = try await client().download(repo: Self.repo) { events.add($0) }
        XCTAssertEqual(server.requests.count, count + 1) // the API call only: every file is in the snapshot
        XCTAssertTrue(events.all.allSatisfy { $0.fromCache && $0.phase == .finished })
    }

    // MARK: - Resuming

    func testDroppedConnectionIsResumedAndVerified() async throws {
        server.dropAfterBytes = 400_000
        let folder = try await client().download(repo: Self.repo)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors")), weights.data)
        let cdn = server.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdn.count, 2)
        XCTAssertNil(cdn[0].headers["range"])
        XCTAssertEqual(cdn[1].headers["range"], "bytes=400000-")
        XCTAssertFalse(FileManager.default.fileExists(atPath: weightsBlob + ".incomplete"))
    }

    func testAStalledConnectionTimesOutAndIsResumed() async throws {
        server.stallAfterBytes = 300_000
        var client = client()
        client.downloadTimeout = 1
        let folder = try await client.download(repo: Self.repo, files: ["model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors")), weights.data)
        let cdn = server.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdn.map { $0.headers["range"] }, [nil, "bytes=300000-"])
    }

    func testASlowButSteadyTransferIsNotTimedOut() async throws {
        server.pace = 0.06 // 24 pieces: about 1.5 s in all, longer than the 1 s idle timeout
        var client = client()
        client.downloadTimeout = 1
        let folder = try await client.download(repo: Self.repo, files: ["model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors")), weights.data)
        XCTAssertEqual(server.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/cdn/") }.count, 1)
    }

    func testAnExistingIncompleteFileIsResumedWithRange() async throws {
        try FileManager.default.createDirectory(atPath: repoFolder + "/blobs", withIntermediateDirectories: true)
        try weights.data.prefix(1_000_000).write(to: URL(fileURLWithPath: weightsBlob + ".incomplete"))
        let events = EventLog()
        let folder = try await client().download(repo: Self.repo, files: ["model.safetensors"]) { events.add($0) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors")), weights.data)
        let cdn = server.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/cdn/") }
        XCTAssertEqual(cdn.map { $0.headers["range"] }, ["bytes=1000000-"])
        XCTAssertEqual(events.all.first?.phase, .verifying) // hashing the part already there
        XCTAssertEqual(events.all.first { $0.phase == .downloading }?.fileCompleted, 1_000_000)
    }

    func testACancelledDownloadKeepsWhatItGotAndTheNextOneResumes() async throws {
        server.pace = 0.05
        let client = client(), repo = Self.repo
        let task = Task { @Sendable in try await client.download(repo: repo, files: ["model.safetensors"]) }
        while (HubFileSystem.fileSize(weightsBlob + ".incomplete") ?? 0) < 200_000 { try await Task.sleep(nanoseconds: 20_000_000) }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("not cancelled")
        } catch is CancellationError {}
        let kept = try XCTUnwrap(HubFileSystem.fileSize(weightsBlob + ".incomplete"))
        XCTAssertGreaterThan(kept, 0)
        server.pace = 0
        let folder = try await client.download(repo: repo, files: ["model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors")), weights.data)
        XCTAssertEqual(server.requests.last { $0.path.hasPrefix("/cdn/") }?.headers["range"], "bytes=\(kept)-")
    }

    func testAServerIgnoringRangeRestartsTheFile() async throws {
        server.ignoreRange = true
        try FileManager.default.createDirectory(atPath: repoFolder + "/blobs", withIntermediateDirectories: true)
        try Data(repeating: 0xAA, count: 5000).write(to: URL(fileURLWithPath: weightsBlob + ".incomplete"))
        let folder = try await client().download(repo: Self.repo, files: ["model.safetensors"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors")), weights.data)
    }

    func testACorruptTransferFailsWithAChecksumErrorAndLeavesNoBlob() async throws {
        server.corruptLFS = true
        let error = await expectError { _ = try await self.client().download(repo: Self.repo) }
        guard case let .checksumMismatch(file, expected, _)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(file, "model.safetensors")
        XCTAssertEqual(expected, HubTestServer.sha256(weights.data))
        XCTAssertFalse(FileManager.default.fileExists(atPath: weightsBlob))
        XCTAssertFalse(FileManager.default.fileExists(atPath: weightsBlob + ".incomplete"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoFolder + "/snapshots/\(server.commit)/model.safetensors"))
        XCTAssertNil(HubCache(root: home + "/hub").snapshotFolder(repo: Self.repo))
        XCTAssertTrue(error!.description.contains("corrupt"))
    }

    // MARK: - Errors

    func testMissingRepoGivesAClearError() async throws {
        server.repoError = (404, "RepoNotFound")
        let error = await expectError { _ = try await self.client().download(repo: Self.repo) }
        XCTAssertEqual(error, .repoNotFound(repo: Self.repo))
        XCTAssertTrue(error!.description.contains("test-org/tiny-clip was not found"))
    }

    func testUnauthorizedMentionsHFToken() async throws {
        server.requiredToken = "hf_secret"
        let error = await expectError { _ = try await self.client().download(repo: Self.repo) }
        XCTAssertEqual(error, .authenticationRequired(repo: Self.repo, status: 401, tokenSent: false))
        XCTAssertTrue(error!.description.contains("HF_TOKEN"), error!.description)
    }

    func testGatedRepoSaysSo() async throws {
        server.repoError = (403, "GatedRepo")
        let error = await expectError { _ = try await self.client(["HF_TOKEN": "hf_x"]).download(repo: Self.repo) }
        XCTAssertEqual(error, .gatedRepo(repo: Self.repo, tokenSent: true))
        XCTAssertTrue(error!.description.contains("HF_TOKEN"))
    }

    func testTheTokenIsSentAsBearer() async throws {
        server.requiredToken = "hf_secret"
        _ = try await client(["HF_TOKEN": "hf_secret"]).download(repo: Self.repo)
        let hub = server.requests.filter { !$0.path.hasPrefix("/cdn/") }
        XCTAssertFalse(hub.isEmpty)
        XCTAssertTrue(hub.allSatisfy { $0.headers["authorization"] == "Bearer hf_secret" })
        // The token stays on the Hub: the CDN (another origin) never sees it.
        let cdn = server.requests.filter { $0.path.hasPrefix("/cdn/") }
        XCTAssertFalse(cdn.isEmpty)
        XCTAssertTrue(cdn.allSatisfy { $0.headers["authorization"] == nil && $0.headers["host"]!.hasPrefix("localhost:") })
    }

    func testTheTokenFileUnderHFHomeIsUsed() async throws {
        server.requiredToken = "hf_from_file"
        try "hf_from_file\n".write(toFile: home + "/token", atomically: true, encoding: .utf8)
        XCTAssertEqual(client().token, "hf_from_file")
        _ = try await client().download(repo: Self.repo, files: ["config.json"])
        XCTAssertEqual(client(["HF_TOKEN": "hf_env"]).token, "hf_env")
        XCTAssertEqual(HubClient(token: "hf_arg", environment: environment(["HF_TOKEN": "hf_env"])).token, "hf_arg")
    }

    func testUnreachableEndpointWithoutCacheExplainsModelFolder() async throws {
        server.stop()
        let error = await expectError { _ = try await ModelLocator.resolve(Self.repo, client: self.client(), environment: self.environment()) }
        guard case .hubUnreachable? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(error!.description.contains("--model"), error!.description)
        XCTAssertTrue(error!.description.contains(server.endpoint.absoluteString))
    }

    func testOfflineModeWithoutCacheFailsWithoutNetwork() async throws {
        let error = await expectError { _ = try await self.client(["HF_HUB_OFFLINE": "1"]).download(repo: Self.repo) }
        XCTAssertEqual(error, .offline(repo: Self.repo))
        XCTAssertTrue(server.requests.isEmpty)
    }

    func testAMissingFileIsReported() async throws {
        let error = await expectError { _ = try await self.client().download(repo: Self.repo, files: ["nope.json"]) }
        XCTAssertEqual(error, .fileNotFound(repo: Self.repo, revision: "main", file: "nope.json"))
        let meta = await expectError { _ = try await self.client().fileMetadata(repo: Self.repo, file: "nope.json") }
        XCTAssertEqual(meta, .fileNotFound(repo: Self.repo, revision: "main", file: "nope.json"))
    }

    func testAnUnknownRevisionIsReported() async throws {
        let error = await expectError { _ = try await self.client().download(repo: Self.repo, revision: "v9") }
        XCTAssertEqual(error, .revisionNotFound(repo: Self.repo, revision: "v9"))
    }

    // MARK: - Metadata

    func testFileMetadataReadsTheRedirectWithoutFollowingIt() async throws {
        let lfs = try await client().fileMetadata(repo: Self.repo, file: "model.safetensors")
        XCTAssertEqual(lfs.etag, HubTestServer.sha256(weights.data))
        XCTAssertEqual(lfs.size, Int64(weights.data.count))
        XCTAssertEqual(lfs.commit, server.commit)
        XCTAssertEqual(lfs.location.path, "/cdn/" + lfs.etag)
        XCTAssertEqual(lfs.location.host, "localhost")
        let config = try await client().fileMetadata(repo: Self.repo, file: "config.json")
        XCTAssertEqual(config.etag, HubDigest.gitBlobID(server.file("config.json")!.data))
        XCTAssertFalse(server.requests.contains { $0.path.hasPrefix("/cdn/") })
    }

    func testWithoutSafetensorsWeightsThePyTorchCheckpointIsFetched() async throws {
        server.stop()
        server = try HubTestServer(repo: Self.repo, files: Self.modelFiles().filter { $0.name != "model.safetensors" })
        let folder = try await client().download(repo: Self.repo)
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/pytorch_model.bin"))
        XCTAssertTrue(HubModelFiles.missing(in: folder).isEmpty)
    }

    func testWithoutReadableWeightsTheErrorSaysSo() async throws {
        server.stop()
        let tf = HubTestServer.File(name: "tf_model.h5", data: Data(repeating: 3, count: 1024), lfs: true)
        server = try HubTestServer(repo: Self.repo, files: Self.modelFiles().filter { $0.name != "model.safetensors" && $0.name != "pytorch_model.bin" } + [tf])
        let error = await expectError { _ = try await self.client().download(repo: Self.repo) }
        XCTAssertEqual(error, .noSafetensorsWeights(repo: Self.repo, otherWeights: ["tf_model.h5"]))
    }

    func testSentenceTransformersModulesAndGenerationSettingsAreFetched() async throws {
        server.stop()
        func text(_ name: String, _ body: String) -> HubTestServer.File { .init(name: name, data: Data(body.utf8), lfs: false) }
        let dense = HubTestServer.File(name: "2_Dense/model.safetensors", data: Data(repeating: 5, count: 2048), lfs: true)
        let extra = [text("modules.json", "[]"), text("generation_config.json", "{}"), text("1_Pooling/config.json", "{}"), dense,
                     text("2_Dense/README.md", "not fetched"), text("vocab.txt", "[PAD]\n")]
        server = try HubTestServer(repo: Self.repo, files: Self.modelFiles().filter { $0.name != "preprocessor_config.json" } + extra)
        let folder = try await client().download(repo: Self.repo)
        for name in ["modules.json", "generation_config.json", "1_Pooling/config.json", "2_Dense/model.safetensors", "vocab.txt"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder + "/" + name), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/2_Dense/README.md"))
        XCTAssertTrue(HubModelFiles.missing(in: folder).isEmpty, "a sentence-transformers folder needs no image preprocessor")
    }

    /// SigLIP v1 repos (google/siglip-base-patch16-224) ship their tokenizer only as a SentencePiece spiece.model.
    func testSiglipSentencePieceModelIsFetched() async throws {
        server.stop()
        let spiece = HubTestServer.File(name: "spiece.model", data: Data(repeating: 7, count: 4096), lfs: true)
        server = try HubTestServer(repo: Self.repo, files: Self.modelFiles().filter { !["tokenizer.json", "vocab.json", "merges.txt"].contains($0.name) } + [spiece])
        let folder = try await client().download(repo: Self.repo)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/spiece.model")), spiece.data)
        XCTAssertTrue(HubModelFiles.missing(in: folder).isEmpty, "\(HubModelFiles.missing(in: folder))")
    }

    func testShardedWeightsAreFetchedFromTheIndex() async throws {
        server.stop()
        let shard1 = HubTestServer.File(name: "model-00001-of-00002.safetensors", data: Data(repeating: 1, count: 70_000), lfs: true)
        let shard2 = HubTestServer.File(name: "model-00002-of-00002.safetensors", data: Data(repeating: 2, count: 50_000), lfs: true)
        let index = HubTestServer.File(name: "model.safetensors.index.json", data: Data("""
            {"metadata": {}, "weight_map": {"a": "\(shard1.name)", "b": "\(shard2.name)", "c": "\(shard1.name)"}}
            """.utf8), lfs: false)
        server = try HubTestServer(repo: Self.repo, files: Self.modelFiles().filter { $0.name != "model.safetensors" } + [index, shard1, shard2])
        let folder = try await client().download(repo: Self.repo)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + shard2.name)), shard2.data)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + shard1.name)), shard1.data)
        XCTAssertTrue(HubModelFiles.missing(in: folder).isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/pytorch_model.bin"))
    }

    // MARK: - Environment

    func testEnvironmentSelectsEndpointCacheAndToken() {
        XCTAssertEqual(HubCache(environment: ["HOME": "/h"]).root, "/h/.cache/huggingface/hub")
        XCTAssertEqual(HubCache(environment: ["HOME": "/h", "XDG_CACHE_HOME": "/x"]).root, "/x/huggingface/hub")
        XCTAssertEqual(HubCache(environment: ["HOME": "/h", "XDG_CACHE_HOME": "/x", "HF_HOME": "~/hf"]).root, "/h/hf/hub")
        XCTAssertEqual(HubCache(environment: ["HOME": "/h", "HF_HOME": "/hf", "HF_HUB_CACHE": "/cache"]).root, "/cache")
        XCTAssertEqual(HubCache(environment: ["HOME": "/h", "HUGGINGFACE_HUB_CACHE": "/legacy"]).root, "/legacy")

        let plain = HubClient(environment: ["HOME": home])
        XCTAssertEqual(plain.endpoint.absoluteString, "https://huggingface.co")
        XCTAssertNil(plain.token)
        XCTAssertFalse(plain.offline)
        let mirror = HubClient(environment: ["HOME": home, "HF_ENDPOINT": "https://hf-mirror.example/", "HF_HUB_OFFLINE": "true"])
        XCTAssertEqual(mirror.endpoint.absoluteString, "https://hf-mirror.example")
        XCTAssertTrue(mirror.offline)
        XCTAssertEqual(mirror.resolveURL(repo: "a/b", revision: "refs/pr/1", file: "sub dir/x+y.json").absoluteString,
                       "https://hf-mirror.example/a/b/resolve/refs%2Fpr%2F1/sub%20dir/x%2By.json")
        XCTAssertEqual(HubClient(endpoint: URL(string: "http://127.0.0.1:9")!, environment: ["HF_ENDPOINT": "https://other"]).endpoint.absoluteString,
                       "http://127.0.0.1:9")
    }

    func testRepoIDsAndModelReferences() throws {
        for good in ["openai/clip-vit-base-patch32", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", "gpt2", "a_b/c.d"] {
            XCTAssertTrue(HubClient.isValidRepoID(good), good)
        }
        for bad in ["", "a/b/c", "a b/c", "a--b/c", "a/..b", "/a", "a/", "a/b.git", "-a/b"] {
            XCTAssertFalse(HubClient.isValidRepoID(bad), bad)
        }
        XCTAssertEqual(try ModelLocator.reference(home), .folder(home))
        XCTAssertEqual(try ModelLocator.reference("openai/clip-vit-base-patch32"), .repo("openai/clip-vit-base-patch32"))
        XCTAssertThrowsError(try ModelLocator.reference("./no-such-folder")) { XCTAssertTrue("\($0)".contains("no such folder")) }
        XCTAssertThrowsError(try ModelLocator.reference("not a repo")) { XCTAssertEqual($0 as? HubError, .invalidRepoID("not a repo")) }
        try "x".write(toFile: home + "/file.txt", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ModelLocator.reference(home + "/file.txt"))

        XCTAssertEqual(ModelLocator.modelName(option: nil, environment: [:]), "openai/clip-vit-base-patch32")
        XCTAssertEqual(ModelLocator.modelName(option: nil, environment: ["GLIMPSE_MODEL": "org/m"]), "org/m")
        XCTAssertEqual(ModelLocator.modelName(option: "/models/x", environment: ["GLIMPSE_MODEL": "org/m"]), "/models/x")
    }

    func testALocalFolderResolvesToItselfWithoutNetwork() async throws {
        let folder = try await ModelLocator.resolve(home + "/", client: client(), environment: environment())
        XCTAssertEqual(folder, home)
        XCTAssertTrue(server.requests.isEmpty)
    }

    func testDigests() {
        XCTAssertEqual(HubDigest.sha256(Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(HubDigest.sha256(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(HubDigest.sha256(Data(repeating: 0x61, count: 1_000_000)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        XCTAssertEqual(HubDigest.sha256(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(HubDigest.gitBlobID(Data("hello\n".utf8)), "ce013625030ba8dba906f756967f9e9ca394464a")
        XCTAssertEqual(HubDigest.gitBlobID(Data()), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        XCTAssertEqual(HubClient.normalizeETag("W/\"abc\""), "abc")
        XCTAssertEqual(HubClient.normalizeETag("\"abc\""), "abc")
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [HubProgress] = []
    func add(_ event: HubProgress) { lock.lock(); events.append(event); lock.unlock() }
    var all: [HubProgress] { lock.lock(); defer { lock.unlock() }; return events }
}
