import Foundation
import XCTest
@testable import GlimpseImage

/// Bit-exactness of `PillowResampler` against Pillow on synthetic images
/// (Resources/resampler_expectations.json, made by make_resampler_expectations.py).
final class PillowResamplerTests: XCTestCase {
    struct Expectations: Decodable {
        struct Case: Decodable {
            let in_width: Int, in_height: Int, out_width: Int, out_height: Int
            let filter: Int, seed: Int
            let pixels_hex: String?
            let pixels_fnv1a64: String?
        }
        let pillow_version: String
        let cases: [Case]
    }

    /// Same generator as `pixels()` in make_resampler_expectations.py.
    static func syntheticImage(width: Int, height: Int, seed: Int) -> RGBImage {
        var state = UInt32(truncatingIfNeeded: seed)
        var out = [UInt8]()
        out.reserveCapacity(width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    state = state &* 1664525 &+ 1013904223
                    let noise = UInt8(state >> 24)
                    let smooth = (x * 255 / max(width - 1, 1) + y * 255 / max(height - 1, 1) + c * 85) % 256
                    out.append((x + y + c) % 3 == 0 ? noise : UInt8(smooth))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    func testMatchesPillowBitForBit() throws {
        let url = Fixtures.resources.appendingPathComponent("resampler_expectations.json")
        let expectations = try JSONDecoder().decode(Expectations.self, from: Data(contentsOf: url))
        XCTAssertGreaterThan(expectations.cases.count, 10)
        for c in expectations.cases {
            let filter = try XCTUnwrap(ResampleFilter(rawValue: c.filter))
            let input = Self.syntheticImage(width: c.in_width, height: c.in_height, seed: c.seed)
            let output = PillowResampler(filter: filter).resize(input, width: c.out_width, height: c.out_height)
            let label = "\(c.in_width)x\(c.in_height) -> \(c.out_width)x\(c.out_height) filter \(filter)"
            XCTAssertEqual(output.width, c.out_width, label)
            XCTAssertEqual(output.height, c.out_height, label)
            if let hex = c.pixels_hex {
                let expected = Self.bytes(fromHex: hex)
                XCTAssertEqual(expected.count, output.pixels.count, label)
                if expected.count == output.pixels.count {
                    let diff = SampleDifference(output.pixels, expected)
                    XCTAssertEqual(diff.max, 0, "\(label): \(diff)")
                }
            } else if let digest = c.pixels_fnv1a64 {
                XCTAssertEqual(fnv1a64(output.pixels), digest, label)
            }
        }
    }

    /// Pillow 13 picks the pass order (the expectations above hold cases of both).
    func testPassOrderRule() {
        // Typical CLIP downscales run horizontally first...
        XCTAssertFalse(PillowResampler.verticalPassFirst(inWidth: 3000, inHeight: 4000, outWidth: 224, outHeight: 298))
        XCTAssertFalse(PillowResampler.verticalPassFirst(inWidth: 4000, inHeight: 3000, outWidth: 298, outHeight: 224))
        // ...photos taller than 2:1 vertically first, and so does a shrinking height with a growing width.
        XCTAssertTrue(PillowResampler.verticalPassFirst(inWidth: 1000, inHeight: 2500, outWidth: 224, outHeight: 560))
        XCTAssertTrue(PillowResampler.verticalPassFirst(inWidth: 60, inHeight: 60, outWidth: 61, outHeight: 58))
        XCTAssertFalse(PillowResampler.verticalPassFirst(inWidth: 60, inHeight: 60, outWidth: 58, outHeight: 56))  // tie
        XCTAssertTrue(PillowResampler.verticalPassFirst(inWidth: 60, inHeight: 60, outWidth: 58, outHeight: 55))
        XCTAssertFalse(PillowResampler.verticalPassFirst(inWidth: 40, inHeight: 50, outWidth: 224, outHeight: 280))  // upscale
    }

    func testSameSizeIsIdentity() {
        let image = Self.syntheticImage(width: 9, height: 7, seed: 42)
        XCTAssertEqual(PillowResampler().resize(image, width: 9, height: 7), image)
    }

    func testConstantImageStaysConstant() {
        // Normalised weights: a flat colour survives any resize exactly.
        let image = RGBImage(width: 37, height: 23, fill: (200, 17, 255))
        for (w, h) in [(5, 3), (80, 61), (1, 1), (37, 4)] {
            let out = PillowResampler(filter: .bicubic).resize(image, width: w, height: h)
            XCTAssertEqual(out, RGBImage(width: w, height: h, fill: (200, 17, 255)), "\(w)x\(h)")
        }
    }

    func testCoefficientsAreNormalisedFixedPoint() {
        let c = PillowResampler.Coefficients(inSize: 4000, outSize: 298, filter: .bicubic)
        XCTAssertEqual(c.taps, Int((2.0 * 4000.0 / 298.0).rounded(.up)) * 2 + 1)
        for (i, bound) in c.bounds.enumerated() {
            let sum = (0..<bound.count).reduce(0) { $0 + Int(c.weights[i * c.taps + $1]) }
            XCTAssertLessThanOrEqual(abs(sum - (1 << 22)), bound.count, "output \(i)")
        }
    }

    static func bytes(fromHex hex: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for ch in hex.utf8 {
            let v: UInt8 = ch <= 57 ? ch - 48 : (ch | 0x20) - 87
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}

/// 64-bit FNV-1a, so the larger expectations can be stored as digests (same as
/// `fnv1a64` in make_resampler_expectations.py).
func fnv1a64(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes {
        hash ^= UInt64(b)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return String(hash, radix: 16)
}
