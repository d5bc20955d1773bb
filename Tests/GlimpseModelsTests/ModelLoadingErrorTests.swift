import XCTest
import GlimpseTensor
@testable import GlimpseModels

/// A missing or corrupt file, or another architecture, is an error that names the file.
final class ModelLoadingErrorTests: XCTestCase {
    func copyOfFixture() throws -> String {
        let dir = NSTemporaryDirectory() + "glimpse-model-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Fixtures.model("clip-tiny-f32"), toPath: dir)
        return dir
    }

    func testMissingFolder() {
        XCTAssertThrowsError(try CLIPModel(directory: "/nonexistent/model")) { XCTAssertTrue("\($0)".contains("/nonexistent/model")) }
    }

    func testMissingConfig() throws {
        let dir = try copyOfFixture()
        try FileManager.default.removeItem(atPath: dir + "/config.json")
        XCTAssertThrowsError(try CLIPModel(directory: dir)) { XCTAssertTrue("\($0)".contains("config.json"), "\($0)") }
    }

    func testUnsupportedArchitecture() throws {
        let dir = try copyOfFixture()
        try Data(#"{"model_type": "bert", "architectures": ["BertModel"]}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try CLIPModel(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("config.json") && "\(error)".contains("bert"), "\(error)")
        }
    }

    func testTruncatedWeights() throws {
        let dir = try copyOfFixture()
        let path = dir + "/model.safetensors"
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try CLIPModel(directory: dir)) { XCTAssertTrue("\($0)".contains("model.safetensors"), "\($0)") }
    }

    func testGarbageWeights() throws {
        let dir = try copyOfFixture()
        try Data("not a safetensors file at all".utf8).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        XCTAssertThrowsError(try CLIPModel(directory: dir)) { XCTAssertTrue("\($0)".contains("model.safetensors"), "\($0)") }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try copyOfFixture()
        let file = try SafetensorsFile(path: dir + "/model.safetensors")
        let items = try file.names.filter { $0 != "visual_projection.weight" }.map { name -> SafetensorsWriter.Item in
            let t = try file.tensor(name)
            return SafetensorsWriter.Item(name: name, shape: t.shape, values: t.values)
        }
        try SafetensorsWriter.write(items, dtype: .f32, to: dir + "/model.safetensors")
        XCTAssertThrowsError(try CLIPModel(directory: dir)) { XCTAssertTrue("\($0)".contains("visual_projection.weight"), "\($0)") }
    }

    func testMissingPreprocessorConfig() throws {
        let dir = try copyOfFixture()
        try FileManager.default.removeItem(atPath: dir + "/preprocessor_config.json")
        XCTAssertThrowsError(try FileEmbedder(directory: dir)) { XCTAssertTrue("\($0)".contains("preprocessor_config.json"), "\($0)") }
    }

    /// Weights saved as BF16 load and give nearly the same embeddings.
    func testBF16Checkpoint() throws {
        let dir = try copyOfFixture()
        let file = try SafetensorsFile(path: dir + "/model.safetensors")
        let items = try file.names.map { name -> SafetensorsWriter.Item in
            let t = try file.tensor(name)
            return SafetensorsWriter.Item(name: name, shape: t.shape, values: t.values)
        }
        try SafetensorsWriter.write(items, dtype: .bf16, to: dir + "/model.safetensors")
        let reference = try CLIPModel(directory: Fixtures.model("clip-tiny-f32"))
        let bf16 = try CLIPModel(directory: dir)
        XCTAssertGreaterThan(cosine(bf16.embed(text: "a photo of a dog"), reference.embed(text: "a photo of a dog")), 0.99)
    }
}
