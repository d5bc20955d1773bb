import CGlimpseKernels
import XCTest
@testable import GlimpseTensor

/// The int8 path of `LinearLayer`: every kernel this CPU runs computes the same values (they share one int32
/// arithmetic), the result stays within int8's error of the Float32 product, and shapes off every vector width work.
final class Int8LinearTests: XCTestCase {
    override func tearDown() { Int8Kernel.use(nil) }

    func gaussian(_ count: Int, _ generator: inout SystemRandomNumberGenerator) -> [Float] {
        (0..<count).map { _ in
            let u = Float.random(in: Float.ulpOfOne...1, using: &generator), v = Float.random(in: 0...1, using: &generator)
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    func run(_ layer: LinearLayer, _ x: [Float], rows: Int, activation: Activation? = nil) -> [Float] {
        var out = [Float](repeating: .nan, count: rows * layer.outFeatures)
        out.withUnsafeMutableBufferPointer { o in
            x.withUnsafeBufferPointer { layer.forward(o.baseAddress!, $0.baseAddress!, rows: rows, activation: activation) }
        }
        return out
    }

    func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x) * Double(y); na += Double(x) * Double(x); nb += Double(y) * Double(y) }
        return dot / (na.squareRoot() * nb.squareRoot())
    }

    func testEveryKernelGivesIdenticalResults() {
        var generator = SystemRandomNumberGenerator()
        let available = Int8Kernel.allCases.filter(\.isSupported)
        XCTAssertTrue(available.contains(.portable))
        #if arch(x86_64)
        if glimpse_cpu_has_avx2_fma() == 1 { XCTAssertTrue(available.contains(.avx2), "\(available)") }
        #endif
        for (C, OC) in [(67, 45), (64, 32), (3, 17), (768, 50)] {
            let w = gaussian(OC * C, &generator), b = gaussian(OC, &generator)
            let layer = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
            layer.prepare(.int8)
            for rows in [1, 3, 9, 16, 70, 133] {
                let x = gaussian(rows * C, &generator)
                Int8Kernel.use(.portable)
                let reference = run(layer, x, rows: rows)
                for kernel in available where kernel != .portable {
                    XCTAssertTrue(Int8Kernel.use(kernel))
                    XCTAssertEqual(Int8Kernel.current, kernel)
                    let got = run(layer, x, rows: rows)
                    XCTAssertEqual(got, reference, "\(kernel) differs from the portable kernel at \(rows)×\(C)→\(OC)")
                }
            }
        }
    }

    func testInt8StaysWithinQuantizationErrorOfFloat32() {
        var generator = SystemRandomNumberGenerator()
        for (C, OC) in [(512, 512), (67, 45), (768, 3072)] {
            let w = gaussian(OC * C, &generator).map { $0 * 0.02 }, b = gaussian(OC, &generator).map { $0 * 0.01 }
            let fp32 = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
            let int8 = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
            int8.prepare(.int8)
            XCTAssertEqual(int8.weightBytes * 4, fp32.weightBytes)
            for rows in [1, 10, 77] {
                let x = gaussian(rows * C, &generator)
                let expected = run(fp32, x, rows: rows), got = run(int8, x, rows: rows)
                for r in 0..<rows {
                    let slice = r * OC..<(r + 1) * OC
                    // Gaussian data is int8's hard case (no structure); real layers do better.
                    XCTAssertGreaterThan(cosine(got[slice], expected[slice]), 0.999, "row \(r) of \(rows), \(C)→\(OC)")
                }
            }
        }
    }

    func testFusedActivationEqualsSeparateActivation() {
        var generator = SystemRandomNumberGenerator()
        let C = 96, OC = 80
        let w = gaussian(OC * C, &generator), b = gaussian(OC, &generator)
        let layer = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
        layer.prepare(.int8)
        for activation in Activation.allCases {
            for rows in [2, 100] {
                let x = gaussian(rows * C, &generator)
                var separate = run(layer, x, rows: rows)
                separate.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
                XCTAssertEqual(run(layer, x, rows: rows, activation: activation), separate, "\(activation), \(rows) rows")
            }
        }
    }

    func testZeroRowsAndZeroWeightsGiveTheBias() {
        let C = 20, OC = 18
        let b = (0..<OC).map { Float($0) }
        let layer = LinearLayer(weight: Tensor(zeros: [OC, C]), bias: Tensor(shape: [OC], values: b))
        layer.prepare(.int8)
        let out = run(layer, [Float](repeating: 0, count: 2 * C), rows: 2)
        XCTAssertEqual(out, b + b)
    }

    func testAutoPicksAFastPrecisionAndBF16FallsBackWhereItIsSlow() {
        let (auto, autoWarning) = PrecisionRequest.auto.resolve()
        XCTAssertNil(autoWarning)
        XCTAssertEqual(auto, Int8Kernel.current == .portable ? .fp32 : .int8)
        let (bf16, warning) = PrecisionRequest.bf16.resolve()
        if glimpse_cpu_has_bf16() == 1 {
            XCTAssertEqual(bf16, .bf16); XCTAssertNil(warning)
        } else {
            XCTAssertEqual(bf16, .fp32); XCTAssertNotNil(warning)
        }
        XCTAssertEqual(PrecisionRequest.int8.resolve().precision, .int8)
        XCTAssertEqual(PrecisionRequest.fp32.resolve().precision, .fp32)
    }
}
