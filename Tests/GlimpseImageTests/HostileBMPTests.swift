import Foundation
import XCTest
@testable import GlimpseImage

/// Crafted BMP headers (regressions for the decoder hardening and fuzzing): each is an `ImageError` that names
/// the file, never a trap or a read outside the buffer.
final class HostileBMPTests: XCTestCase {
    static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
    static func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }

    /// A BITMAPINFOHEADER file with the given fields and `pixels` after the header (and palette).
    static func bmp(width: Int, height: Int, bits: Int, compression: Int = 0, colors: Int = 0,
                    palette: [UInt8] = [], dataOffset: Int? = nil, pixels: [UInt8]) -> [UInt8] {
        let header = le32(40) + le32(width) + le32(height) + le16(1) + le16(bits) + le32(compression)
            + le32(pixels.count) + le32(2835) + le32(2835) + le32(colors) + le32(0)
        let offset = dataOffset ?? 14 + header.count + palette.count
        return Array("BM".utf8) + le32(14 + header.count + palette.count + pixels.count) + le32(0) + le32(offset)
            + header + palette + pixels
    }

    func testBMPClaiming2To31By2To31PixelsIsRefusedFromTheHeader() {
        let file = Self.bmp(width: 1 << 31, height: 1 << 31, bits: 24, pixels: [1, 2, 3, 4])
        XCTAssertThrowsError(try ImageDecoder().decode(data: file, name: "huge.bmp")) {
            XCTAssertEqual($0 as? ImageError, .tooManyPixels(path: "huge.bmp", width: 1 << 31, height: 1 << 31, limit: 100_000_000))
        }
        // Without a pixel limit the sizes still overflow-check: width × height × 3 does not fit an Int.
        XCTAssertThrowsError(try ImageDecoder(maxPixels: .max).decode(data: file, name: "huge.bmp")) {
            guard case let .corrupt(path, detail)? = $0 as? ImageError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "huge.bmp")
            XCTAssertTrue(detail.contains("2147483648×2147483648"), detail)
        }
        // 2^32 - 1 wide (the largest a u32 field holds), one row: the row length is checked against the file.
        let wide = Self.bmp(width: 0xFFFF_FFFF, height: 1, bits: 32, pixels: [1, 2, 3, 4])
        XCTAssertThrowsError(try ImageDecoder().decode(data: wide, name: "wide.bmp")) {
            guard case .tooManyPixels = $0 as? ImageError else { return XCTFail("\($0)") }
        }
    }

    func testBMPWhosePixelDataOffsetLiesBeyondTheFileIsCorrupt() {
        let palette: [UInt8] = (0..<256).flatMap { (v: Int) -> [UInt8] in [UInt8(v), UInt8(v), UInt8(v), 0] }
        let files: [(String, [UInt8])] = [
            ("rgb24.bmp", Self.bmp(width: 2, height: 2, bits: 24, dataOffset: 1_000_000, pixels: [UInt8](repeating: 7, count: 16))),
            // RLE used to decode to an all-black image, reading nothing.
            ("rle8.bmp", Self.bmp(width: 4, height: 4, bits: 8, compression: 1, palette: palette, dataOffset: 70_000,
                                  pixels: [4, 1, 0, 1])),
            ("offset-past-u32.bmp", Self.bmp(width: 1, height: 1, bits: 24, dataOffset: 0xFFFF_FFFF, pixels: [0, 0, 0, 0])),
        ]
        for (name, file) in files {
            XCTAssertThrowsError(try ImageDecoder().decode(data: file, name: name), name) {
                guard case let .corrupt(path, detail)? = $0 as? ImageError else { return XCTFail("\(name): \($0)") }
                XCTAssertEqual(path, name)
                XCTAssertTrue(detail.contains("beyond the end"), "\(name): \(detail)")
            }
        }
    }

    func testBMPWithAbsurdPaletteOrBitfieldsIsAnError() {
        let cases: [(String, [UInt8])] = [
            ("colors.bmp", Self.bmp(width: 2, height: 2, bits: 8, colors: 0x7FFF_FFFF, pixels: [UInt8](repeating: 0, count: 8))),
            ("bitfields.bmp", Self.bmp(width: 2, height: 2, bits: 24, compression: 3, pixels: [UInt8](repeating: 0x11, count: 28))),
            ("bits.bmp", Self.bmp(width: 2, height: 2, bits: 0xFFFF, pixels: [UInt8](repeating: 0, count: 16))),
            ("header.bmp", Array("BM".utf8) + [UInt8](repeating: 0xFF, count: 16)),
            ("short.bmp", Array("BM".utf8) + [0, 0]),
        ]
        for (name, file) in cases {
            XCTAssertThrowsError(try ImageDecoder().decode(data: file, name: name), name) {
                XCTAssertEqual(($0 as? ImageError)?.path, name, "\($0)")
            }
        }
    }
}
