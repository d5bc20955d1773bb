import Foundation

/// Paths of the committed fixtures (Tests/Fixtures, made by make_fixtures.py).
enum Fixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static func path(_ relative: String) -> String { (root as NSString).appendingPathComponent(relative) }
    static let models = ["clip-tiny-f32", "clip-tiny-f16"]
    static func model(_ name: String) -> String { path("models/\(name)") }

    struct TextIds: Decodable { let text: String; let ids: [Int] }
    struct TextEmbedding: Decodable { let text: String; let embedding: [Float] }
    struct ImageEmbedding: Decodable {
        let file: String; let embedding: [Float]; let large: Bool?; let cmyk: Bool?
    }
    struct ModelReference: Decodable { let texts: [TextEmbedding]; let images: [ImageEmbedding] }

    static func load<T: Decodable>(_ type: T.Type, _ relative: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }
}

func cosine(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in a.indices { dot += Double(a[i]) * Double(b[i]); na += Double(a[i] * a[i]); nb += Double(b[i] * b[i]) }
    return dot / (na.squareRoot() * nb.squareRoot())
}

import GlimpseImage
import GlimpseModels
import GlimpseTensor

/// Image files to embeddings through a loaded model's preprocessor and image encoder (the engine's `Embedder` lives
/// above this module).
final class FileEmbedder {
    let model: LoadedModel
    let fast: Bool
    let decoder = ImageDecoder()

    init(directory: String, precision: Precision = .fp32, fastDecode: Bool = true) throws {
        model = try ModelLoader.load(directory: directory, precision: precision)
        guard model.imageEncoder != nil else { throw ModelError.noImageTower(model: directory) }
        fast = fastDecode
    }

    func embed(imagePaths paths: [String], batchSize: Int = 32) -> [Result<[Float], Error>] {
        paths.map { path in
            Result {
                let pixels = try model.imagePreprocessor!.pixelValues(path: path, decoder: decoder, fast: fast)
                return model.imageEncoder!.embed(pixels: pixels, count: 1)[0]
            }
        }
    }
}
