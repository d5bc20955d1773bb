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
