import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseTensor

/// ViT-B/32-shaped CLIP with random weights: vision throughput at a batch size, text query latency.
struct CLIPBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "clip", abstract: "Benchmark the CLIP towers (ViT-B/32 shapes, random weights).")

    @Option(help: "Matrix-product precision: auto, fp32, fp16, bf16 or int8.") var precision: PrecisionRequest = .fp32
    @Option(help: "Int8 kernel to use (portable, avx2, avx-vnni, avx512-vnni, neon-dot) instead of the best this CPU has.")
    var int8Kernel: Int8Kernel?
    @Option(help: "Images per vision batch.") var batch = 32
    @Option(help: "Timed vision batches.") var batches = 3
    @Option(help: "Timed runs per text length.") var textRuns = 20
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Only run text queries of this many tokens, --text-runs times (for profilers).") var profileText: Int?

    static let vitB32 = CLIPConfig(
        text: CLIPTextConfig(tower: TransformerConfig(hiddenSize: 512, intermediateSize: 2048, layers: 12, heads: 8, layerNormEps: 1e-5, activation: .quickGelu),
                             vocabSize: 49408, maxPositions: 77, eosTokenId: 49407),
        vision: CLIPVisionConfig(tower: TransformerConfig(hiddenSize: 768, intermediateSize: 3072, layers: 12, heads: 12, layerNormEps: 1e-5, activation: .quickGelu),
                                 imageSize: 224, patchSize: 32, channels: 3),
        projectionDim: 512)

    func run() throws {
        if let int8Kernel, !Int8Kernel.use(int8Kernel) { throw ValidationError("this CPU cannot run the \(int8Kernel.rawValue) kernel") }
        let (precision, warning) = self.precision.resolve()
        if let warning { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        let model = CLIPModel(random: Self.vitB32, precision: precision)
        var generator = SeededGenerator(seed: 7)
        if let profileText {
            let ids = [49406] + (0..<(profileText - 2)).map { _ in Int.random(in: 0..<49406, using: &generator) } + [49407]
            for _ in 0..<textRuns { _ = model.text.embed(ids: ids) }
            return
        }
        let imagesPerSecond = visionThroughput(model, batch: batch, batches: batches, generator: &generator)

        func textLatency(tokens: Int) -> Double {
            let ids = [49406] + (0..<(tokens - 2)).map { _ in Int.random(in: 0..<49406, using: &generator) } + [49407]
            _ = model.text.embed(ids: ids)
            return median((0..<textRuns).map { _ in seconds { _ = model.text.embed(ids: ids) } }) * 1000
        }
        let text10 = textLatency(tokens: 10)
        // Sixteen concurrent 10-token queries in one batched pass (what `glimpse serve` does).
        let batch16 = (0..<16).map { _ in [49406] + (0..<8).map { _ in Int.random(in: 0..<49406, using: &generator) } + [49407] }
        _ = model.text.embed(batch: batch16)
        let text16 = median((0..<max(3, textRuns / 4)).map { _ in seconds { _ = model.text.embed(batch: batch16) } }) * 1000
        let text77 = textLatency(tokens: 77)
        let figures: [String: Any] = [
            "precision": precision.rawValue, "kernel": precision.kernelDescription,
            "vision_images_per_s": (imagesPerSecond * 10).rounded() / 10,
            "text_ms_10_tokens": (text10 * 100).rounded() / 100,
            "text_ms_77_tokens": (text77 * 100).rounded() / 100,
            "text_ms_batch16_10_tokens": (text16 * 100).rounded() / 100,
        ]
        try report(figures, json: json) {
            print("CLIP ViT-B/32 shapes, \(precision.rawValue) (\(precision.kernelDescription)), \(ProcessInfo.processInfo.activeProcessorCount) cores")
            print(String(format: "vision: %.1f images/s (batch %d)", imagesPerSecond, batch))
            print(String(format: "text: %.2f ms for 10 tokens, %.2f ms for 77 tokens, %.2f ms for 16 queries of 10 tokens", text10, text77, text16))
        }
    }
}
