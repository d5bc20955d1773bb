import ArgumentParser
import Foundation
import GlimpseTensor

/// GFLOPS of the linear-layer back ends on CLIP's GEMM shapes, to choose between them.
struct GEMMBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gemm", abstract: "Compare OpenBLAS and oneDNN on CLIP's matrix shapes.")

    @Option(help: "Rows (batch × tokens).") var rows = 1600
    @Option(help: "Repetitions per shape.") var repeats = 5

    func run() throws {
        var generator = SystemRandomNumberGenerator()
        for (inFeatures, outFeatures) in [(768, 2304), (768, 3072), (3072, 768), (512, 1536), (512, 2048)] {
            let x = (0..<(rows * inFeatures)).map { _ in Float.random(in: -1...1, using: &generator) }
            let w = Tensor(shape: [outFeatures, inFeatures], values: (0..<(outFeatures * inFeatures)).map { _ in Float.random(in: -0.05...0.05, using: &generator) })
            let layer = LinearLayer(weight: w, bias: Tensor(zeros: [outFeatures]))
            var line = "\(rows)×\(inFeatures)→\(outFeatures):"
            /// Billions of multiply-adds ×2 per second, best of `repeats` after a warm-up.
            func rate(_ layer: LinearLayer) -> Double {
                let out = FloatBuffer(count: rows * outFeatures)
                x.withUnsafeBufferPointer { layer.forward(out.pointer, $0.baseAddress!, rows: rows) }
                var best = Double.infinity
                for _ in 0..<repeats {
                    best = min(best, seconds { x.withUnsafeBufferPointer { layer.forward(out.pointer, $0.baseAddress!, rows: rows) } })
                }
                return 2.0 * Double(rows * inFeatures * outFeatures) / best / 1e9
            }
            for backend in LinearLayer.Backend.allCases {
                guard layer.use(backend) else { line += " \(backend.rawValue) n/a"; continue }
                line += String(format: " %@ %.0f GFLOPS", backend.rawValue, rate(layer))
            }
            let int8 = LinearLayer(weight: w, bias: Tensor(zeros: [outFeatures]))
            int8.prepare(.int8)
            for kernel in Int8Kernel.allCases where kernel.isSupported && kernel != .portable {
                Int8Kernel.use(kernel)
                line += String(format: " int8-%@ %.0f GOPS", kernel.rawValue, rate(int8))
            }
            Int8Kernel.use(nil)
            print(line)
        }
    }
}
