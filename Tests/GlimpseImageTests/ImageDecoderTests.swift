import Foundation
import XCTest
@testable import GlimpseImage

/// Decoding against the Pillow reference (Tests/Fixtures/reference/crops), orientation,
/// errors, the pixel limit, shrink-on-load and thread safety.
final class ImageDecoderTests: XCTestCase {
    let decoder = ImageDecoder()

    /// Every fixture image, decoded exactly, then resized and cropped for the 224
    /// preprocessor, equals Pillow/transformers' crop within one level per sample.
    /// Only JPEG (and WebP) decoders may differ by a level; lossless formats are exact.
    func testDecodeResizeCropMatchesReferenceCrops() throws {
        let preprocessor = try Fixtures.preprocessor224()
        var checked = 0
        var report: [String] = []
        for entry in try Fixtures.imageEntries() where entry.cmyk != true {
            guard let cropPath = entry.crop else { continue }
            let reference = try decoder.decode(path: Fixtures.root.appendingPathComponent(cropPath).path)
            let image = try decoder.decode(path: entry.path)
            let crop = preprocessor.resizedAndCropped(image)
            XCTAssertEqual(crop.width, reference.width, entry.name)
            XCTAssertEqual(crop.height, reference.height, entry.name)
            guard crop.pixels.count == reference.pixels.count else { continue }
            let diff = SampleDifference(crop.pixels, reference.pixels)
            report.append("\(entry.name): \(diff)")
            XCTAssertLessThanOrEqual(diff.max, 1, "\(entry.name): \(diff)")
            let lossy = entry.name.hasSuffix(".jpg") || entry.name.hasSuffix(".webp")
            if !lossy { XCTAssertEqual(diff.max, 0, "\(entry.name) should be exact: \(diff)") }
            checked += 1
        }
        print("decode + resize + crop vs reference:\n  " + report.joined(separator: "\n  "))
        XCTAssertGreaterThanOrEqual(checked, 20)
    }

    /// CMYK: Pillow's naive conversion is not colour-managed, so only a loose match.
    func testCMYKIsConvertedToRGB() throws {
        let preprocessor = try Fixtures.preprocessor224()
        for entry in try Fixtures.imageEntries() where entry.cmyk == true {
            let reference = try decoder.decode(path: Fixtures.root.appendingPathComponent(entry.crop!).path)
            let crop = preprocessor.resizedAndCropped(try decoder.decode(path: entry.path))
            let diff = SampleDifference(crop.pixels, reference.pixels)
            print("\(entry.name) (CMYK, loose): \(diff)")
            XCTAssertLessThan(diff.mean, 20, "\(entry.name): \(diff)")
        }
    }

    /// The fast path (JPEG DCT shrink-on-load) stays close to the exact pixel values.
    func testShrinkOnLoadStaysClose() throws {
        let preprocessor = try Fixtures.preprocessor224()
        let large = try Fixtures.imageEntries().filter { $0.large }
        XCTAssertFalse(large.isEmpty)
        for entry in large {
            let full = try decoder.decode(path: entry.path)
            let shrunk = try decoder.decode(path: entry.path, shrinkOnLoadTarget: 224)
            let factor = ImageDecoder.jpegShrinkFactor(width: full.width, height: full.height, target: 224)
            XCTAssertGreaterThan(factor, 1)
            XCTAssertEqual(shrunk.width, full.width / factor)
            XCTAssertEqual(shrunk.height, full.height / factor)
            XCTAssertGreaterThanOrEqual(min(shrunk.width, shrunk.height), 448)

            let reference = try decoder.decode(path: Fixtures.root.appendingPathComponent(entry.crop!).path)
            let exact = preprocessor.normalized(reference)
            let fast = try preprocessor.pixelValues(path: entry.path, decoder: decoder, fast: true)
            XCTAssertEqual(fast.count, exact.count)
            var sum = 0.0, maxDiff: Float = 0, dot = 0.0, na = 0.0, nb = 0.0
            for i in 0..<exact.count {
                let d = abs(fast[i] - exact[i])
                sum += Double(d); maxDiff = max(maxDiff, d)
                dot += Double(fast[i] * exact[i]); na += Double(exact[i] * exact[i]); nb += Double(fast[i] * fast[i])
            }
            let mean = sum / Double(exact.count), cosine = dot / (na.squareRoot() * nb.squareRoot())
            print(String(format: "%@ shrink-on-load 1/%d: pixel values mean |diff| %.4f, max %.3f, cosine %.6f",
                         entry.name, factor, mean, maxDiff, cosine))
            XCTAssertLessThan(mean, 0.03)
            XCTAssertGreaterThan(cosine, 0.999)
        }
    }

    func testShrinkFactorChoice() {
        XCTAssertEqual(ImageDecoder.jpegShrinkFactor(width: 4000, height: 3000, target: 224), 4)  // 750 >= 448
        XCTAssertEqual(ImageDecoder.jpegShrinkFactor(width: 8000, height: 6000, target: 224), 8)  // 750
        XCTAssertEqual(ImageDecoder.jpegShrinkFactor(width: 3200, height: 2134, target: 224), 4)  // 533
        XCTAssertEqual(ImageDecoder.jpegShrinkFactor(width: 1000, height: 900, target: 224), 2)   // 450
        XCTAssertEqual(ImageDecoder.jpegShrinkFactor(width: 1000, height: 897, target: 224), 2)   // 448
        XCTAssertEqual(ImageDecoder.jpegShrinkFactor(width: 1000, height: 895, target: 224), 1)   // 447
        XCTAssertEqual(ImageDecoder.jpegShrinkFactor(width: 600, height: 400, target: 224), 1)
    }

    /// EXIF 3/6/8 come out as a viewer shows them. The fixture files `*_exif{3,6,8}.jpg`
    /// hold identical JPEG scan data and differ only in the tag, so each must be the same
    /// stored picture under its transform (the reference crops check the result against
    /// Pillow as well).
    func testExifOrientationIsApplied() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixtures.images.path)
        let prefix = try XCTUnwrap(files.first { $0.hasSuffix("_exif3.jpg") }).dropLast("3.jpg".count)
        func load(_ o: Int) throws -> RGBImage {
            try decoder.decode(path: Fixtures.images.appendingPathComponent("\(prefix)\(o).jpg").path)
        }
        let down = try load(3)
        let (w, h) = (down.width, down.height)
        XCTAssertGreaterThan(w, h, "fixture should be landscape as stored")
        // Undo the 180° rotation to get the stored pixels.
        func stored(_ x: Int, _ y: Int) -> (r: UInt8, g: UInt8, b: UInt8) { down[w - 1 - x, h - 1 - y] }
        let transforms: [(Int, (Int, Int) -> (Int, Int))] = [
            (6, { x, y in (h - 1 - y, x) }),  // rotated 90° clockwise
            (8, { x, y in (y, w - 1 - x) }),  // rotated 90° counter-clockwise
        ]
        for (orientation, map) in transforms {
            let image = try load(orientation)
            XCTAssertEqual(image.width, h, "orientation \(orientation)")
            XCTAssertEqual(image.height, w, "orientation \(orientation)")
            guard image.width == h && image.height == w else { continue }
            var mismatches = 0
            for y in 0..<h {
                for x in 0..<w {
                    let (dx, dy) = map(x, y)
                    if stored(x, y) != image[dx, dy] { mismatches += 1 }
                }
            }
            XCTAssertEqual(mismatches, 0, "orientation \(orientation)")
        }
    }

    func testAllOrientationPlacements() {
        // A 3x2 image with distinct pixels, checked against Pillow's transpose methods.
        let src = RGBImage(width: 3, height: 2, pixels: (0..<18).map { UInt8($0) })
        func pixel(_ i: Int) -> [UInt8] { [UInt8(i * 3), UInt8(i * 3 + 1), UInt8(i * 3 + 2)] }
        // Displayed images written as source pixel indices, row by row
        // (source: 0 1 2 / 3 4 5).
        let expected: [ImageOrientation: (Int, Int, [Int])] = [
            .up: (3, 2, [0, 1, 2, 3, 4, 5]),
            .upMirrored: (3, 2, [2, 1, 0, 5, 4, 3]),
            .down: (3, 2, [5, 4, 3, 2, 1, 0]),
            .downMirrored: (3, 2, [3, 4, 5, 0, 1, 2]),
            .leftMirrored: (2, 3, [0, 3, 1, 4, 2, 5]),
            .right: (2, 3, [3, 0, 4, 1, 5, 2]),
            .rightMirrored: (2, 3, [5, 2, 4, 1, 3, 0]),
            .left: (2, 3, [2, 5, 1, 4, 0, 3]),
        ]
        for orientation in ImageOrientation.allCases {
            let out = src.pixels.withUnsafeBytes {
                PixelConversion.makeRGB(samples: $0.baseAddress!, width: 3, height: 2, bands: 3, depth: .eight,
                                        orientation: orientation)
            }
            let (w, h, order) = expected[orientation]!
            XCTAssertEqual(out.width, w, "\(orientation)")
            XCTAssertEqual(out.height, h, "\(orientation)")
            XCTAssertEqual(out.pixels, order.flatMap(pixel), "\(orientation)")
        }
    }

    func testXMPOrientationFallback() {
        func parse(_ s: String) -> ImageOrientation? {
            Array(s.utf8).withUnsafeBytes { ImageOrientation.fromXMP($0) }
        }
        XCTAssertEqual(parse(#"<x:xmpmeta><rdf:Description tiff:Orientation="6"/></x:xmpmeta>"#), .right)
        XCTAssertEqual(parse("<tiff:Orientation>8</tiff:Orientation>"), .left)
        XCTAssertEqual(parse("<tiff:Orientation>9</tiff:Orientation>"), .up)
        XCTAssertNil(parse("<x:xmpmeta/>"))
    }

    /// HEIC through libheif. Resources/small.heic and its expected pixels were made with
    /// libvips (Pillow cannot read HEIF without a plug-in):
    ///     vips copy src_64x40.png small.heic[Q=60] && vips copy small.heic small.heic.png
    func testHEIC() throws {
        let heic = Fixtures.resources.appendingPathComponent("small.heic").path
        let image: RGBImage
        do {
            image = try decoder.decode(path: heic)
        } catch ImageError.unsupportedFormat {
            throw XCTSkip("this libvips/libheif cannot decode HEIC")
        }
        let expected = try decoder.decode(path: heic + ".png")
        XCTAssertEqual(image.width, 64)
        XCTAssertEqual(image.height, 40)
        XCTAssertLessThanOrEqual(SampleDifference(image.pixels, expected.pixels).max, 1)
    }

    func testPathAndMemoryDecodingAgree() throws {
        for name in ["astronaut_baseline.jpg", "rocket.bmp", "coins_gray_alpha.png"] {
            let url = Fixtures.images.appendingPathComponent(name)
            let bytes = try [UInt8](Data(contentsOf: url))
            XCTAssertEqual(try decoder.decode(data: bytes, name: name), try decoder.decode(path: url.path), name)
        }
    }

    // MARK: errors

    func testBrokenFilesThrowDescriptiveErrors() throws {
        let cases: [(String, String)] = [
            ("empty.png", "empty"),
            ("truncated.jpg", "truncated"),
            ("notes.png", "not a supported image"),
        ]
        for (name, phrase) in cases {
            let path = Fixtures.broken.appendingPathComponent(name).path
            XCTAssertThrowsError(try decoder.decode(path: path), name) { error in
                let text = String(describing: error)
                XCTAssertTrue(text.contains(name), "\(name): \(text)")
                XCTAssertTrue(text.lowercased().contains(phrase), "\(name): \(text)")
                print("error for \(name): \(text)")
            }
            // The fast path must fail the same way (a truncated JPEG must not decode as grey).
            XCTAssertThrowsError(try decoder.decode(path: path, shrinkOnLoadTarget: 32), name)
        }
        XCTAssertThrowsError(try decoder.decode(path: Fixtures.broken.appendingPathComponent("notes.png").path)) {
            XCTAssertEqual($0 as? ImageError, .unsupportedFormat(path: Fixtures.broken.appendingPathComponent("notes.png").path))
        }
        XCTAssertThrowsError(try decoder.decode(path: Fixtures.broken.appendingPathComponent("empty.png").path)) {
            XCTAssertEqual($0 as? ImageError, .emptyFile(path: Fixtures.broken.appendingPathComponent("empty.png").path))
        }
        XCTAssertThrowsError(try decoder.decode(path: Fixtures.broken.appendingPathComponent("truncated.jpg").path)) {
            guard case .corrupt = $0 as? ImageError else { return XCTFail("expected corrupt, got \($0)") }
        }
    }

    func testTruncatedJPEGInMemoryFails() throws {
        let bytes = try [UInt8](Data(contentsOf: Fixtures.images.appendingPathComponent("astronaut_baseline.jpg")))
        for fraction in [0.5, 0.9, 0.99] {
            let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
            XCTAssertThrowsError(try decoder.decode(data: cut, name: "cut.jpg"), "\(fraction)")
        }
    }

    func testMissingFileAndDirectory() {
        XCTAssertThrowsError(try decoder.decode(path: "/nonexistent/photo.jpg")) {
            let text = String(describing: $0)
            XCTAssertTrue(text.contains("/nonexistent/photo.jpg") && text.contains("cannot read"), text)
        }
        XCTAssertThrowsError(try decoder.decode(path: Fixtures.images.path)) {
            guard case .unreadable = $0 as? ImageError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try decoder.decode(data: [], name: "nothing")) {
            XCTAssertEqual($0 as? ImageError, .emptyFile(path: "nothing"))
        }
    }

    /// Formats libvips could read but the decoder refuses (no ImageMagick/PDF/SVG/...).
    func testUnsupportedFormatsAreRefused() {
        let svg = Array(#"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>"#.utf8)
        XCTAssertThrowsError(try decoder.decode(data: svg, name: "drawing.svg")) {
            XCTAssertEqual($0 as? ImageError, .unsupportedFormat(path: "drawing.svg"))
        }
        let ppm = Array("P6\n2 2\n255\n".utf8) + [UInt8](repeating: 9, count: 12)
        XCTAssertThrowsError(try decoder.decode(data: ppm, name: "x.ppm")) {
            XCTAssertEqual($0 as? ImageError, .unsupportedFormat(path: "x.ppm"))
        }
    }

    // MARK: pixel limit

    func testPixelLimitOnRealFile() throws {
        let path = Fixtures.images.appendingPathComponent("astronaut_baseline.jpg").path
        let small = ImageDecoder(maxPixels: 512 * 512 - 1)
        XCTAssertThrowsError(try small.decode(path: path)) {
            XCTAssertEqual($0 as? ImageError, .tooManyPixels(path: path, width: 512, height: 512, limit: 512 * 512 - 1))
            XCTAssertTrue(String(describing: $0).contains("too large"))
        }
        XCTAssertNoThrow(try ImageDecoder(maxPixels: 512 * 512).decode(path: path))
        let bmp = Fixtures.images.appendingPathComponent("rocket.bmp").path
        XCTAssertThrowsError(try ImageDecoder(maxPixels: 1000).decode(path: bmp)) {
            guard case .tooManyPixels = $0 as? ImageError else { return XCTFail("\($0)") }
        }
    }

    /// A PNG whose header claims 60000×60000 but whose pixel data is a few garbage
    /// bytes: the limit must fire from the header alone (decoding would fail with
    /// "corrupt" instead).
    func testPixelLimitIsCheckedBeforeDecoding() {
        let bomb = Self.bombPNG(width: 60000, height: 60000)
        XCTAssertThrowsError(try decoder.decode(data: bomb, name: "bomb.png")) {
            XCTAssertEqual($0 as? ImageError, .tooManyPixels(path: "bomb.png", width: 60000, height: 60000,
                                                              limit: 100_000_000))
        }
        // Under the limit, the same kind of file is refused as corrupt: proof the check came first above.
        XCTAssertThrowsError(try decoder.decode(data: Self.bombPNG(width: 100, height: 100), name: "small.png")) {
            guard case .corrupt = $0 as? ImageError else { return XCTFail("\($0)") }
        }
    }

    static func bombPNG(width: UInt32, height: UInt32) -> [UInt8] {
        func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for b in bytes {
                crc ^= UInt32(b)
                for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
            }
            return ~crc
        }
        func chunk(_ tag: String, _ data: [UInt8]) -> [UInt8] {
            let body = Array(tag.utf8) + data
            return be(UInt32(data.count)) + body + be(crc32(body))
        }
        let ihdr = be(width) + be(height) + [8, 2, 0, 0, 0]
        let garbage: [UInt8] = [0x78, 0x9C, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", ihdr) + chunk("IDAT", garbage)
            + chunk("IEND", [])
    }

    // MARK: BMP

    func testBMPVariantsMatchEachOther() throws {
        // 24-bit bottom-up vs. top-down and 32-bit BGRX of the same pixels.
        let image = PillowResamplerTests.syntheticImage(width: 5, height: 3, seed: 9)
        for (bits, topDown) in [(24, false), (24, true), (32, false)] {
            let bmp = Self.makeBMP(image, bits: bits, topDown: topDown)
            let decoded = try decoder.decode(data: bmp, name: "t.bmp")
            XCTAssertEqual(decoded, image, "\(bits) bits, top-down \(topDown)")
        }
        let truncated = Array(Self.makeBMP(image, bits: 24, topDown: false).dropLast(10))
        XCTAssertThrowsError(try decoder.decode(data: truncated, name: "t.bmp")) {
            guard case .corrupt = $0 as? ImageError else { return XCTFail("\($0)") }
        }
    }

    static func makeBMP(_ image: RGBImage, bits: Int, topDown: Bool) -> [UInt8] {
        func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        func le16(_ v: Int) -> [UInt8] { (0..<2).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }
        let stride = ((image.width * bits + 31) >> 3) & ~3
        var data = [UInt8]()
        for row in 0..<image.height {
            let y = topDown ? row : image.height - 1 - row
            var line = [UInt8]()
            for x in 0..<image.width {
                let p = image[x, y]
                line += [p.b, p.g, p.r]
                if bits == 32 { line.append(0x55) }
            }
            line += [UInt8](repeating: 0, count: stride - line.count)
            data += line
        }
        let header = le32(40) + le32(image.width) + le32(topDown ? -image.height : image.height) + le16(1) + le16(bits)
            + le32(0) + le32(data.count) + le32(2835) + le32(2835) + le32(0) + le32(0)
        let offset = 14 + header.count
        return Array("BM".utf8) + le32(offset + data.count) + le32(0) + le32(offset) + header + data
    }

    // MARK: concurrency

    func testConcurrentDecodingIsDeterministic() throws {
        let names = try Fixtures.imageEntries().map(\.name)
        XCTAssertGreaterThan(names.count, 5)
        let paths = names.map { Fixtures.images.appendingPathComponent($0).path }
        let decoder = self.decoder
        let expected = try paths.map { try decoder.decode(path: $0) }
        let rounds = 48
        let results = ResultSlots(count: rounds)
        DispatchQueue.concurrentPerform(iterations: rounds) { i in
            results.set(i, try? decoder.decode(path: paths[i % paths.count]))
        }
        for i in 0..<rounds {
            XCTAssertEqual(results.get(i), expected[i % paths.count], names[i % names.count])
        }
        // Errors under concurrency stay attached to the right file.
        let broken = ["empty.png", "truncated.jpg", "notes.png"].map { Fixtures.broken.appendingPathComponent($0).path }
        DispatchQueue.concurrentPerform(iterations: 30) { i in
            let path = broken[i % 3]
            do {
                _ = try decoder.decode(path: path)
                XCTFail("\(path) decoded")
            } catch let error as ImageError {
                XCTAssertEqual(error.path, path)
            } catch {
                XCTFail("\(error)")
            }
        }
    }
}

/// Lock-protected result slots for concurrentPerform.
final class ResultSlots: @unchecked Sendable {
    private var slots: [RGBImage?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ image: RGBImage?) { lock.lock(); slots[i] = image; lock.unlock() }
    func get(_ i: Int) -> RGBImage? { lock.lock(); defer { lock.unlock() }; return slots[i] }
}
