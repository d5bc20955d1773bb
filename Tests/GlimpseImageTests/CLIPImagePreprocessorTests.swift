import Foundation
import XCTest
@testable import GlimpseImage

final class CLIPImagePreprocessorTests: XCTestCase {
    func testConfigFromFixtureModel() throws {
        let p = try Fixtures.preprocessor224()
        XCTAssertEqual(p.config.size, .shortestEdge(224))
        XCTAssertEqual(p.config.resample, .bicubic)
        XCTAssertEqual(p.outputHeight, 224)
        XCTAssertEqual(p.outputWidth, 224)
        XCTAssertEqual(p.config.imageMean, [0.48145466, 0.4578275, 0.40821073])
    }

    func testConfigDefaultsAndLegacyForms() throws {
        let empty = try JSONDecoder().decode(ImagePreprocessorConfig.self, from: Data("{}".utf8))
        XCTAssertEqual(empty, ImagePreprocessorConfig())
        let legacy = try JSONDecoder().decode(ImagePreprocessorConfig.self, from: Data("""
            {"size": 336, "crop_size": 320, "resample": 2, "do_normalize": false, "image_mean": 0.5,
             "image_std": [0.5, 0.5, 0.5], "feature_extractor_type": "CLIPFeatureExtractor"}
            """.utf8))
        XCTAssertEqual(legacy.size, .shortestEdge(336))
        XCTAssertTrue(legacy.cropSize == (320, 320))
        XCTAssertEqual(legacy.resample, .bilinear)
        XCTAssertFalse(legacy.doNormalize)
        XCTAssertEqual(legacy.imageMean, [0.5, 0.5, 0.5])
        let exact = try JSONDecoder().decode(ImagePreprocessorConfig.self, from: Data("""
            {"size": {"height": 256, "width": 192}, "crop_size": {"height": 128, "width": 96}}
            """.utf8))
        XCTAssertEqual(exact.size, .exact(height: 256, width: 192))
        XCTAssertTrue(exact.cropSize == (128, 96))
        XCTAssertThrowsError(try JSONDecoder().decode(ImagePreprocessorConfig.self, from: Data(#"{"resample": 9}"#.utf8)))
    }

    /// Sizes computed by transformers' get_resize_output_image_size (truncating int()).
    func testResizeSizesMatchTransformers() {
        let p = CLIPImagePreprocessor(config: ImagePreprocessorConfig())
        XCTAssertTrue(p.resizedSize(height: 427, width: 640) == (224, 335))   // 335.737 truncated
        XCTAssertTrue(p.resizedSize(height: 4000, width: 3000) == (298, 224))
        XCTAssertTrue(p.resizedSize(height: 3000, width: 4000) == (224, 298))
        XCTAssertTrue(p.resizedSize(height: 512, width: 512) == (224, 224))
        XCTAssertTrue(p.resizedSize(height: 5, width: 3) == (373, 224))
        XCTAssertTrue(p.resizedSize(height: 40, width: 1200) == (224, 6720))
        var config = ImagePreprocessorConfig()
        config.size = .shortestEdge(224, longestEdge: 300)
        let q = CLIPImagePreprocessor(config: config)
        // get_size_with_aspect_ratio((400, 1000), 224, 300): raw 120.0 -> (120, 300)
        XCTAssertTrue(q.resizedSize(height: 400, width: 1000) == (120, 300))
        XCTAssertTrue(q.resizedSize(height: 300, width: 400) == (224, 298))
    }

    func testCenterCropOffsetsAndPadding() {
        let image = RGBImage(width: 5, height: 4, pixels: (0..<60).map { UInt8($0) })
        // (4 - 2) // 2 = 1, (5 - 2) // 2 = 1
        let c = CLIPImagePreprocessor.centerCrop(image, height: 2, width: 2)
        XCTAssertEqual(c.pixels, [18, 19, 20, 21, 22, 23, 33, 34, 35, 36, 37, 38])
        // Larger than the image: zero padding, placed like transformers (top pad ceil((6-4)/2) = 1).
        let padded = CLIPImagePreprocessor.centerCrop(image, height: 6, width: 7)
        XCTAssertEqual(padded.width, 7)
        XCTAssertEqual(padded.height, 6)
        XCTAssertEqual(padded[0, 0].r, 0)
        XCTAssertEqual(padded[1, 1].r, image[0, 0].r)
        XCTAssertEqual(padded[5, 4].r, image[4, 3].r)
        XCTAssertEqual(padded[6, 5].r, 0)
    }

    /// pixelValues is rescale + normalise (transformers' float arithmetic) of the crop,
    /// CHW; for the fixtures it equals that of the reference crop exactly.
    func testPixelValuesAreNormalisedCropInCHW() throws {
        let p = try Fixtures.preprocessor224()
        let decoder = ImageDecoder()
        let mean: [Float] = [0.48145466, 0.4578275, 0.40821073], std: [Float] = [0.26862954, 0.26130258, 0.27577711]
        for entry in try Fixtures.imageEntries() where entry.cmyk != true {
            let reference = try decoder.decode(path: Fixtures.root.appendingPathComponent(try XCTUnwrap(entry.crop)).path)
            let values = p.pixelValues(try decoder.decode(path: entry.path))
            XCTAssertEqual(values.count, 3 * 224 * 224)
            guard values.count == 3 * 224 * 224 else { continue }
            var mismatches = 0
            for c in 0..<3 {
                for y in 0..<224 {
                    for x in 0..<224 {
                        let v = reference.pixels[(y * 224 + x) * 3 + c]
                        let expected = (Float(Double(v) * (1.0 / 255.0)) - mean[c]) / std[c]
                        if values[c * 224 * 224 + y * 224 + x] != expected { mismatches += 1 }
                    }
                }
            }
            XCTAssertEqual(mismatches, 0, entry.name)
            XCTAssertEqual(try p.pixelValues(path: entry.path, decoder: decoder, fast: false), values, entry.name)
        }
    }

    func testFastAndExactPathsForSmallJPEGAreIdentical() throws {
        // Too small to shrink: the fast path must be the exact path.
        let p = try Fixtures.preprocessor224()
        let path = Fixtures.images.appendingPathComponent("astronaut_baseline.jpg").path
        XCTAssertEqual(try p.pixelValues(path: path, decoder: ImageDecoder(), fast: true),
                       try p.pixelValues(path: path, decoder: ImageDecoder(), fast: false))
    }
}
