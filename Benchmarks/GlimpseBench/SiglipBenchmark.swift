import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseTensor

/// SigLIP B/16 at 224 (google/siglip-base-patch16-224 shapes) with random weights: vision throughput at a batch
/// size (196 patch tokens per image, ≈ 4.4× ViT-B/32's vision work), text query latency (always 64 padded tokens).
/// `Benchmarks/reference_siglip.py` measures PyTorch and ONNX Runtime on the same shapes.
struct SiglipBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "siglip", abstract: "Benchmark the SigLIP towers (B/16 at 224 shapes, random weights).")
    @Option(help: "Matrix-product precision: auto, fp32, fp16, bf16 or int8.") var precision: PrecisionRequest = .fp32
    @Option(help: "Images per vision batch.") var batch = 32
    @Option(help: "Timed vision batches.") var batches = 3
    @Option(help: "Timed text runs.") var textRuns = 20
    @Option(help: "Text vocabulary: 32000 (SigLIP), 256000 (SigLIP 2's Gemma tokenizer).") var vocab = 32000
    @Flag(help: "Print one JSON object.") var json = false

    static func base16(vocab: Int) -> SiglipConfig {
        let tower = TransformerConfig(hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12, layerNormEps: 1e-6, activation: .geluTanh)
        return SiglipConfig(text: SiglipTextConfig(tower: tower, vocabSize: vocab, maxPositions: 64, padTokenId: 1, projectionSize: 768),
                            vision: SiglipVisionConfig(tower: tower, imageSize: 224, patchSize: 16, channels: 3))
    }

    func run() throws {
        let (precision, warning) = self.precision.resolve()
        if let warning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let model = SiglipModel(random: Self.base16(vocab: vocab), precision: precision)
        var generator = SeededGenerator(seed: 7)
        let imagesPerSecond = visionThroughput(model, batch: batch, batches: batches, generator: &generator)

        func query() -> [Int] { (0..<10).map { _ in Int.random(in: 2..<vocab, using: &generator) } + [1] }
        let one = [query()]
        _ = model.embed(tokenBatch: one)
        let text1 = median((0..<textRuns).map { _ in seconds { _ = model.embed(tokenBatch: one) } }) * 1000
        let sixteen = (0..<16).map { _ in query() }
        _ = model.embed(tokenBatch: sixteen)
        let text16 = median((0..<max(3, textRuns / 4)).map { _ in seconds { _ = model.embed(tokenBatch: sixteen) } }) * 1000
        let figures: [String: Any] = [
            "precision": precision.rawValue, "kernel": precision.kernelDescription,
            "vision_images_per_s": (imagesPerSecond * 10).rounded() / 10,
            "text_ms_query": (text1 * 100).rounded() / 100,
            "text_ms_batch16": (text16 * 100).rounded() / 100,
        ]
        try report(figures, json: json) {
            print("SigLIP B/16 224 shapes, \(precision.rawValue) (\(precision.kernelDescription)), \(ProcessInfo.processInfo.activeProcessorCount) cores")
            print(String(format: "vision: %.1f images/s (batch %d)", imagesPerSecond, batch))
            print(String(format: "text: %.2f ms per query (64 padded tokens), %.2f ms for 16 queries", text1, text16))
        }
    }
}
