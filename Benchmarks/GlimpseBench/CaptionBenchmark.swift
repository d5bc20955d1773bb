import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseTensor

/// Captioning speed on nlpconnect/vit-gpt2's shapes with the random weights `Benchmarks/reference_caption.py` saves
/// (run it first: it times transformers' generate() on the same model and inputs and records its ids).
struct CaptionBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "caption", abstract: "Benchmark image captioning (ViT + GPT-2, greedy and 4 beams).")

    @Option(help: "The model folder reference_caption.py wrote.") var model: String
    @Option(help: "Images captioned per run (one generation each, the encoder batched).") var images = 8
    @Option(help: "Caption length (start token included).") var maxLength = 16
    @Option(help: "Timed runs.") var runs = 3
    @Option(help: "Matrix-product precision: fp32 or bf16.") var precision: Precision = .fp32
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let captioner = try VisionEncoderDecoder(directory: model, precision: precision)
        let S = captioner.imageSize
        var pixels = [Float](repeating: 0, count: images * 3 * S * S)
        for b in 0..<images { for c in 0..<3 { for y in 0..<S { for x in 0..<S {
            pixels[((b * 3 + c) * S + y) * S + x] = Float(sin(0.37 * Double(b) + 1.3 * Double(c) + 0.021 * Double(y) - 0.017 * Double(x)))
        } } } }
        let reference = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/bench_reference.json")))) as? [String: [[Int]]]
        var result: [String: Any] = ["images": images, "max_length": maxLength, "precision": precision.rawValue]
        // The encoder alone (all images in one batch), to tell encoding from decoding.
        let encode = { _ = pixels.withUnsafeBufferPointer { captioner.encoder.encode(pixels: $0.baseAddress!, batch: images) } }
        encode()
        result["encoder_ms_per_image"] = (median((0..<runs).map { _ in seconds(encode) }) / Double(images) * 1e5).rounded() / 100
        for (name, beams) in [("greedy", 1), ("beam4", 4)] {
            var settings = captioner.generation
            settings.numBeams = beams; settings.maxLength = maxLength; settings.maxNewTokens = nil
            var ids: [[Int]] = []
            let generate = { ids = try pixels.withUnsafeBufferPointer { try captioner.generate(pixels: $0.baseAddress!, count: images, settings: settings) }.map(\.ids) }
            try generate()   // warm-up
            var times: [Double] = []
            for _ in 0..<runs {
                let start = DispatchTime.now().uptimeNanoseconds
                try generate()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            var entry: [String: Any] = ["captions_per_s": (Double(images) / median(times) * 1000).rounded() / 1000]
            if let expected = reference?[name] {
                entry["same_ids_as_transformers"] = "\(zip(ids, expected).filter { $0 == $1 }.count)/\(expected.count)"
            }
            result[name] = entry
        }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            for name in ["greedy", "beam4"] { print("\(name): \(result[name]!)") }
        }
    }
}
