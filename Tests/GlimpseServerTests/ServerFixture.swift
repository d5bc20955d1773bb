import Foundation
import GlimpseEngine
import GlimpseModels
import GlimpseServer
import GlimpseStore
import Hummingbird
import HummingbirdTesting
import NIOCore

/// A library built from the committed fixture images with the tiny model, and a server over it.
struct ServerFixture {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static let modelDirectory = fixtures + "/models/clip-tiny-f32"
    static func modelDirectory(_ name: String) -> String { fixtures + "/models/" + name }
    static let photos = ["astronaut_baseline.jpg", "coffee_progressive.jpg", "rocket_444.jpg", "chelsea_palette.png",
                         "coffee_lossy.webp", "camera_gray.jpg", "rocket.bmp"]

    let root: String
    let folder: String
    let store: EmbeddedStore
    var library: Library { store.library }
    let service: LibraryService

    /// With `captions`, every image is captioned (fixture captioner, greedy) and the server searches every path.
    init(configuration: ServerConfiguration = ServerConfiguration(), thumbnails: Bool = true, captions: Bool = false,
         model: String = "clip-tiny-f32") async throws {
        root = NSTemporaryDirectory() + "glimpse-server-\(UUID().uuidString)"
        folder = root + "/photos"
        try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
        for (i, name) in Self.photos.enumerated() {
            try FileManager.default.copyItem(atPath: Self.fixtures + "/images/" + name,
                                             toPath: folder + (i % 2 == 0 ? "/" : "/sub/") + name)
        }
        store = try EmbeddedStore(directory: root + "/library")
        let embedder = try Embedder(directory: Self.modelDirectory(model))
        try await store.bindModel(name: model, fingerprint: try ModelFingerprint.of(directory: Self.modelDirectory(model)),
                                  dimension: embedder.embeddingDim)
        let indexer = Indexer(store: store, embedder: embedder, batchSize: 4)
        if thumbnails { indexer.thumbnails = ThumbnailWriter() }
        _ = try await indexer.index(roots: [folder])
        try LibraryIndex(library: store.library).checkpoint()
        var captionText: (any TextEncoder)?
        if captions {
            let sentences = try ModelLoader.load(directory: Self.fixtures + "/models/st-bert-mean-normalize")
            let captioner = try Captioner(model: ModelLoader.load(directory: Self.fixtures + "/models/vit-gpt2-tiny"))
            captioner.settings.numBeams = 1
            try await store.bindCaptionModels(CaptionBinding(captionModel: "vit-gpt2-tiny", sentenceModel: "st-bert-mean-normalize",
                                                             sentenceFingerprint: "fixture", dimension: sentences.textEncoder!.textEmbeddingDimension))
            _ = try await CaptionIndexer(store: store, captioner: captioner, sentences: sentences.textEncoder!).run()
            captionText = sentences.textEncoder
        }
        service = try await LibraryService(store: store, embedder: embedder, modelName: model, captionText: captionText,
                                           uploadsDirectory: root + "/library/uploads", configuration: configuration)
    }

    func remove() async {
        await service.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }

    func id(of name: String) throws -> Int64 {
        let top = folder + "/" + name
        let path = FileManager.default.fileExists(atPath: top) ? top : folder + "/sub/" + name
        return try library.image(path: path)!.id!
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: fixtures + "/images/" + name)))
    }

    /// Runs `body` against the router in memory (no socket), or through a real server on loopback (`.live`).
    func test(_ mode: TestingSetup = .router, _ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: Routes.router(service), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(mode) { client in try await body(client) }
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }
    var bytes: [UInt8] { Array(body.readableBytesView) }
    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    var results: [[String: Any]] { json["results"] as? [[String: Any]] ?? [] }
}

func multipart(field: String, filename: String, contentType: String, data: [UInt8], boundary: String = "glimpse-test-boundary") -> ByteBuffer {
    var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(field)\"; filename=\"\(filename)\"\r\nContent-Type: \(contentType)\r\n\r\n".utf8)
    body += data
    body += Array("\r\n--\(boundary)--\r\n".utf8)
    return ByteBuffer(bytes: body)
}
