import ArgumentParser
import Foundation
import GlimpseEngine
import GlimpseImage
import GlimpseModels
import GlimpseStore
import GlimpseTensor

/// End-to-end indexing of large photos with a ViT-B/32-shaped model, against the model's own throughput:
/// does decoding keep the model busy?
struct IndexBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "index", abstract: "Indexing throughput of large JPEGs vs the vision tower alone.")

    @Option(help: "A large JPEG to copy (e.g. 3000×4000).") var photo: String
    @Option(help: "How many copies to index.") var count = 128
    @Option(help: "Images per batch.") var batch = 32
    @Option(help: "Matrix-product precision: auto, fp32, fp16, bf16 or int8.") var precision: PrecisionRequest = .fp32
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let folder = NSTemporaryDirectory() + "glimpse-index-bench-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/photos", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let original = try Data(contentsOf: URL(fileURLWithPath: photo))
        for i in 0..<count {
            // Distinct files (a different trailing byte after the JPEG end marker) so none is a duplicate.
            var data = original; data.append(UInt8(i % 256)); data.append(UInt8(i / 256))
            try data.write(to: URL(fileURLWithPath: folder + "/photos/\(i).jpg"))
        }
        let model = CLIPModel(random: CLIPBenchmark.vitB32, precision: precision.resolve().precision)
        let embedder = Embedder(image: model, preprocessor: CLIPImagePreprocessor(config: ImagePreprocessorConfig()))

        // The model alone, on the same batch size.
        var generator = SeededGenerator(seed: 3)
        let pixels = (0..<(batch * 3 * 224 * 224)).map { _ in generator.normal() }
        _ = model.embed(pixels: pixels, count: batch)
        let modelSeconds = seconds { for _ in 0..<max(1, count / batch) { _ = model.embed(pixels: pixels, count: batch) } }
        let modelRate = Double(max(1, count / batch) * batch) / modelSeconds

        // Decoding + preprocessing alone, on all cores: with the model it bounds indexing at
        // 1 / (1/decodeRate + 1/modelRate) when both need every core.
        let paths = (0..<count).map { folder + "/photos/\($0).jpg" }
        let decodeSeconds = seconds { _ = embedder.decodeAll(paths) }
        let decodeRate = Double(count) / decodeSeconds
        let bound = 1 / (1 / decodeRate + 1 / modelRate)

        let store = try EmbeddedStore(directory: folder + "/library")
        try await store.bindModel(name: "vit-b-32-random", fingerprint: "random", dimension: embedder.embeddingDim)
        let indexer = Indexer(store: store, embedder: embedder, batchSize: batch)
        let start = DispatchTime.now().uptimeNanoseconds
        let summary = try await indexer.index(roots: [folder + "/photos"])
        let indexSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let indexRate = Double(summary.added) / indexSeconds
        let result: [String: Any] = [
            "model_images_per_s": (modelRate * 10).rounded() / 10,
            "index_images_per_s": (indexRate * 10).rounded() / 10,
            "ratio": (indexRate / modelRate * 1000).rounded() / 1000,
            "decode_images_per_s": (decodeRate * 10).rounded() / 10,
            "shared_cores_bound_images_per_s": (bound * 10).rounded() / 10,
            "images": summary.added, "failed": summary.failed.count, "precision": precision.resolve().precision.rawValue,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(result)
        }
    }
}
