import ArgumentParser
import Foundation
import GlimpseModels
import GlimpseTensor

@main
struct GlimpseBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glimpse-bench",
        abstract: "Release-build benchmarks of Glimpse's engines.",
        subcommands: [CLIPBenchmark.self, SiglipBenchmark.self, TextBenchmark.self, GEMMBenchmark.self, ANNBenchmark.self, IndexBenchmark.self, StoreBenchmark.self, CaptionBenchmark.self, OpenLoopBenchmark.self])
}

extension Precision: ExpressibleByArgument {}

/// Peak resident memory of this process in MB (VmHWM).
func peakRSSMegabytes() -> Double {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return kb / 1024
    }
    return 0
}

func seconds(_ body: () -> Void) -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
extension PrecisionRequest: ExpressibleByArgument {}
extension Int8Kernel: ExpressibleByArgument {}

/// Images per second of an image tower on `batches` timed batches of `batch` random images, after one warm-up batch.
func visionThroughput(_ encoder: any ImageEncoder, batch: Int, batches: Int, generator: inout SeededGenerator) -> Double {
    let S = encoder.imageSize
    let pixels = (0..<(batch * encoder.channels * S * S)).map { _ in generator.normal() }
    _ = encoder.embed(pixels: pixels, count: batch)
    var total = 0.0
    for _ in 0..<batches { total += seconds { _ = encoder.embed(pixels: pixels, count: batch) } }
    return Double(batch * batches) / total
}

/// Prints a benchmark's figures: one JSON object with sorted keys (peak RSS added), or the human lines.
func report(_ figures: [String: Any], json: Bool, human: () -> Void) throws {
    var figures = figures
    figures["peak_rss_mb"] = peakRSSMegabytes().rounded()
    if json {
        print(String(decoding: try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys]), as: UTF8.self))
    } else {
        human()
        print(String(format: "peak RSS: %.0f MB", peakRSSMegabytes()))
    }
}
