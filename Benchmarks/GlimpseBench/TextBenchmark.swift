import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseTensor

/// BERT-family text encoders with random weights: ms per 10-token query, queries/s for a batch of 16.
/// `Benchmarks/reference_text.py` runs PyTorch and ONNX Runtime on the same shapes.
struct TextBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "text", abstract: "Benchmark a BERT-family text encoder (random weights).")

    enum Shape: String, ExpressibleByArgument, CaseIterable {
        case distilbertMultilingual = "distilbert-multilingual", bertBase = "bert-base", xlmRBase = "xlm-r-base", miniLM = "minilm-l6"
        var config: BERTConfig {
            func encoder(_ layers: Int, _ hidden: Int = 768, _ heads: Int = 12, _ intermediate: Int = 3072) -> TransformerConfig {
                TransformerConfig(hiddenSize: hidden, intermediateSize: intermediate, layers: layers, heads: heads, layerNormEps: 1e-12, activation: .gelu)
            }
            switch self {
            case .distilbertMultilingual:
                return BERTConfig(family: .distilBERT, modelType: "distilbert", encoder: encoder(6), vocabSize: 119547, maxPositions: 512, typeVocabSize: 0, padTokenId: 0)
            case .bertBase:
                return BERTConfig(family: .bert, modelType: "bert", encoder: encoder(12), vocabSize: 30522, maxPositions: 512, typeVocabSize: 2, padTokenId: 0)
            case .xlmRBase:
                var c = BERTConfig(family: .roberta, modelType: "xlm-roberta", encoder: encoder(12), vocabSize: 250002, maxPositions: 514, typeVocabSize: 1, padTokenId: 1)
                c.encoder.layerNormEps = 1e-5
                return c
            case .miniLM:
                return BERTConfig(family: .bert, modelType: "bert", encoder: encoder(6, 384, 12, 1536), vocabSize: 30522, maxPositions: 512, typeVocabSize: 2, padTokenId: 0)
            }
        }
    }

    @Option(help: "Model shape: \(Shape.allCases.map(\.rawValue).joined(separator: ", ")).") var modelShape: Shape = .distilbertMultilingual
    @Option(help: "Matrix-product precision: fp32 or bf16.") var precision: Precision = .fp32
    @Option(help: "Timed runs.") var runs = 20
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        var generator = SeededGenerator(seed: 11)
        let model = BERTModel(random: modelShape.config, generator: &generator)
        model.prepareForBenchmark(precision)
        func ids(_ n: Int) -> [Int] { (0..<n).map { _ in Int.random(in: 5..<1000, using: &generator) } }
        let query = ids(10)
        _ = model.hiddenStates([query])
        let single = median((0..<runs).map { _ in seconds { _ = model.hiddenStates([query]) } }) * 1000
        let batch = (0..<16).map { _ in ids(10) }
        _ = model.hiddenStates(batch)
        let batched = median((0..<max(3, runs / 4)).map { _ in seconds { _ = model.hiddenStates(batch) } })
        let result: [String: Any] = [
            "shape": modelShape.rawValue, "precision": precision.rawValue,
            "ms_10_tokens": (single * 100).rounded() / 100,
            "queries_per_s_batch16": (16 / batched * 10).rounded() / 10,
        ]
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "%@ (%@): %.2f ms per 10-token query, %.1f queries/s in batches of 16", modelShape.rawValue, precision.rawValue, single, 16 / batched))
        }
    }
}
