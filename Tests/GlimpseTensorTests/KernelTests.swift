import CGlimpseKernels
import XCTest
@testable import GlimpseTensor

/// Kernels against straightforward Double-precision implementations.
final class KernelTests: XCTestCase {
    var generator = SystemRandomNumberGenerator()
    func random(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in Float.random(in: -scale...scale) } }

    func testLinearMatchesNaive() {
        let N = 5, C = 7, OC = 3
        let x = random(N * C), w = random(OC * C), b = random(OC)
        let layer = LinearLayer(weight: Tensor(shape: [OC, C], values: w), bias: Tensor(shape: [OC], values: b))
        for precision in Precision.allCases {
            layer.prepare(precision)
            var out = [Float](repeating: 0, count: N * OC)
            out.withUnsafeMutableBufferPointer { o in x.withUnsafeBufferPointer { layer.forward(o.baseAddress!, $0.baseAddress!, rows: N) } }
            for r in 0..<N {
                for o in 0..<OC {
                    var s = Double(b[o])
                    for c in 0..<C { s += Double(x[r * C + c]) * Double(w[o * C + c]) }
                    XCTAssertEqual(Double(out[r * OC + o]), s, accuracy: precision == .fp32 ? 1e-5 : precision == .int8 ? 6e-2 : 3e-2, "\(precision)")
                }
            }
        }
    }

    func testActivations() {
        let x = random(1000, scale: 8) + [0, -0, 100, -100]
        for activation in Activation.allCases {
            var y = x
            y.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
            for (a, v) in zip(y, x) {
                let d = Double(v)
                let expected: Double = switch activation {
                case .gelu: 0.5 * d * (1 + erf(d / 2.0.squareRoot()))
                case .quickGelu: d / (1 + exp(-1.702 * d))
                case .geluTanh: 0.5 * d * (1 + tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d)))
                case .relu: max(d, 0)
                }
                XCTAssertEqual(Double(a), expected, accuracy: 1e-5 * max(1, abs(expected)), "\(activation) at \(v)")
            }
        }
    }

    func testLayerNorm() {
        let rows = 3, C = 50
        let x = random(rows * C, scale: 4), w = random(C), b = random(C)
        var out = [Float](repeating: 0, count: rows * C)
        out.withUnsafeMutableBufferPointer { layerNorm($0.baseAddress!, x, weight: w, bias: b, rows: rows, channels: C, eps: 1e-5) }
        for r in 0..<rows {
            let row = x[(r * C)..<((r + 1) * C)].map(Double.init)
            let mean = row.reduce(0, +) / Double(C)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(C)
            for c in 0..<C {
                let expected = (row[c] - mean) / (variance + 1e-5).squareRoot() * Double(w[c]) + Double(b[c])
                XCTAssertEqual(Double(out[r * C + c]), expected, accuracy: 1e-4)
            }
        }
    }

    /// Short sequences take the per-key path, longer ones (≥ 8 queries) the transposed-keys path, with key counts
    /// on both sides of its 32-key blocks; bidirectional ones from `gemmAttentionTokens` on the GEMM path, also with
    /// key-padding masks.
    func testAttentionCausalAndFull() {
        for (B, T, H, D) in [(2, 5, 2, 3), (2, 37, 2, 5), (1, 70, 3, 16), (2, 200, 2, 64)] { checkAttention(B: B, T: T, H: H, D: D) }
        checkAttention(B: 2, T: 70, H: 3, D: 16, keyLengths: [70, 41])
        checkAttention(B: 3, T: 12, H: 2, D: 8, keyLengths: [12, 5, 1])
    }

    func checkAttention(B: Int, T: Int, H: Int, D: Int, keyLengths: [Int]? = nil) {
        let C = H * D
        let qkv = random(B * T * 3 * C)
        for causal in keyLengths == nil ? [false, true] : [false] {
            var out = [Float](repeating: 0, count: B * T * C)
            out.withUnsafeMutableBufferPointer {
                attention($0.baseAddress!, qkv, batch: B, tokens: T, heads: H, headDim: D, causal: causal, keyLengths: keyLengths)
            }
            for b in 0..<B { for h in 0..<H { for t in 0..<(keyLengths?[b] ?? T) {
                func at(_ pos: Int, _ part: Int, _ d: Int) -> Double { Double(qkv[(b * T + pos) * 3 * C + part * C + h * D + d]) }
                let keys = causal ? t + 1 : keyLengths?[b] ?? T
                let scores = (0..<keys).map { j in (0..<D).map { at(t, 0, $0) * at(j, 1, $0) }.reduce(0, +) / Double(D).squareRoot() }
                let m = scores.max()!
                let e = scores.map { exp($0 - m) }
                let s = e.reduce(0, +)
                for d in 0..<D {
                    let expected = (0..<keys).map { e[$0] / s * at($0, 2, d) }.reduce(0, +)
                    XCTAssertEqual(Double(out[(b * T + t) * C + h * D + d]), expected, accuracy: 1e-5)
                }
            } } }
        }
    }

    func testBFloat16Rounding() {
        XCTAssertEqual(bfloat16Bits(1), 0x3F80)
        XCTAssertEqual(bfloat16Bits(Float(bitPattern: 0x3F80_8000)), 0x3F80)  // tie to even
        XCTAssertEqual(bfloat16Bits(Float(bitPattern: 0x3F81_8000)), 0x3F82)  // tie to even, upwards
        XCTAssertEqual(bfloat16Bits(Float(bitPattern: 0x3F80_8001)), 0x3F81)
    }

    /// The binary16 conversion behind `.fp16` weights rounds exactly like Swift's Float16 (nearest even), across
    /// normals, subnormals, overflow to infinity and signed zero.
    func testHalfRounding() {
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e9, .infinity, -.infinity, 6.1e-5, 6.0e-8,
                               2.9e-8, 3.0e-8, 5.96e-8, 1e-10, Float.leastNonzeroMagnitude, 0.1, 1.00048828125, 1.000732421875]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20000 {
            values.append(Float(bitPattern: UInt32.random(in: 0x3000_0000...0x4780_0000, using: &generator) | (Bool.random(using: &generator) ? 0x8000_0000 : 0)))
        }
        var bits = [UInt16](repeating: 0, count: values.count)
        glimpse_f32_to_f16(&bits, values, values.count)
        for (v, h) in zip(values, bits) { XCTAssertEqual(h, Float16(v).bitPattern, "\(v) (0x\(String(v.bitPattern, radix: 16)))") }
        var nan: UInt16 = 0
        glimpse_f32_to_f16(&nan, [Float.nan], 1)
        XCTAssertTrue(Float16(bitPattern: nan).isNaN)
    }
}
