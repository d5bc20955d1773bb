import XCTest
@testable import GlimpseTensor

/// Every matrix-product path of `LinearLayer` — the few-rows kernel (≤ `fewRowsLimit` rows), OpenBLAS, oneDNN f32 and bf16
/// where the CPU has them — against a naive Double-precision product, at row counts on both sides of the switch
/// and shapes that are not multiples of any vector width.
final class LinearBackendTests: XCTestCase {
    func naive(_ x: [Float], _ w: [Float], _ b: [Float], rows: Int, C: Int, OC: Int) -> [Double] {
        var out = [Double](repeating: 0, count: rows * OC)
        for r in 0..<rows {
            for o in 0..<OC {
                var s = Double(b[o])
                for c in 0..<C { s += Double(x[r * C + c]) * Double(w[o * C + c]) }
                out[r * OC + o] = s
            }
        }
        return out
    }

    func run(_ layer: LinearLayer, _ x: [Float], rows: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: rows * layer.outFeatures)
        out.withUnsafeMutableBufferPointer { o in x.withUnsafeBufferPointer { layer.forward(o.baseAddress!, $0.baseAddress!, rows: rows) } }
        return out
    }

    func testEveryBackendMatchesTheNaiveProduct() {
        let C = 67, OC = 45
        let w = (0..<OC * C).map { _ in Float.random(in: -1...1) }, b = (0..<OC).map { _ in Float.random(in: -1...1) }
        var checked: [String] = []
        for rows in [1, 2, 7, 16, 17, 33, 130] {
            let x = (0..<rows * C).map { _ in Float.random(in: -1...1) }
            let expected = naive(x, w, b, rows: rows, C: C, OC: OC)
            // The default path: few-rows kernel up to `fewRowsLimit` rows, then a GEMM.
            let layer = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
            for (a, e) in zip(run(layer, x, rows: rows), expected) { XCTAssertEqual(Double(a), e, accuracy: 1e-4, "default, \(rows) rows") }
            for backend in LinearLayer.Backend.allCases {
                let forced = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
                guard forced.use(backend) else { continue }  // not on this CPU (bf16 without AVX-512 BF16)
                let tolerance = backend == .oneDNNBF16 ? 0.15 : 1e-4
                let got = run(forced, x, rows: rows)
                for (a, e) in zip(got, expected) { XCTAssertEqual(Double(a), e, accuracy: tolerance, "\(backend), \(rows) rows") }
                checked.append("\(backend.rawValue)×\(rows)")
            }
            // bf16 weights on the few-rows kernel.
            let bf16 = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
            bf16.prepare(.bf16)
            for (a, e) in zip(run(bf16, x, rows: rows), expected) { XCTAssertEqual(Double(a), e, accuracy: 0.15, "bf16, \(rows) rows") }
            // fp16: binary16 weights on the few-rows kernel (exactly the product with the rounded weights), Float32
            // weights in the GEMM beyond it.
            let fp16 = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
            fp16.prepare(.fp16)
            XCTAssertEqual(fp16.weightBytes, 2 * OC * C)
            let rounded = rows <= LinearLayer.fewRowsLimit ? w.map { Float(Float16($0)) } : w
            let expectedHalf = naive(x, rounded, b, rows: rows, C: C, OC: OC)
            for (a, e) in zip(run(fp16, x, rows: rows), expectedHalf) { XCTAssertEqual(Double(a), e, accuracy: 1e-4, "fp16, \(rows) rows") }
        }
        XCTAssertTrue(checked.contains("openblas-f32×130"), "\(checked)")
    }
}
