import XCTest
@testable import GlimpseTensor

final class SafetensorsTests: XCTestCase {
    func tempPath(_ name: String) -> String { NSTemporaryDirectory() + "glimpse-\(UUID().uuidString)-\(name)" }

    func testRoundTripInEveryDType() throws {
        let values: [Float] = [0, 1, -1, 0.5, 3.140625, -2.25, 1e-3, 65504]
        for dtype in [DType.f32, .f16, .bf16] {
            let path = tempPath("rt.safetensors")
            try SafetensorsWriter.write([.init(name: "w", shape: [2, 4], values: values), .init(name: "b", shape: [3], values: [1, 2, 3])],
                                        dtype: dtype, to: path)
            let file = try SafetensorsFile(path: path)
            XCTAssertEqual(file.entries["w"]?.dtype, dtype)
            let w = try file.tensor("w", shape: [2, 4])
            XCTAssertEqual(w.shape, [2, 4])
            let tolerance: Float = dtype == .f32 ? 0 : (dtype == .f16 ? 1e-3 : 1e-2)
            for (a, b) in zip(w.values, values) { XCTAssertEqual(a, b, accuracy: max(tolerance * abs(b), tolerance * 1e-3)) }
            XCTAssertEqual(try file.tensor("b").values, [1, 2, 3])
        }
    }

    func testErrorsNameTheFileAndTheProblem() throws {
        let path = tempPath("bad.safetensors")
        try SafetensorsWriter.write([.init(name: "w", shape: [4], values: [1, 2, 3, 4])], dtype: .f32, to: path)
        let file = try SafetensorsFile(path: path)
        XCTAssertThrowsError(try file.tensor("missing")) { XCTAssertEqual($0 as? SafetensorsError, .missingTensor(path: path, tensor: "missing")) }
        XCTAssertThrowsError(try file.tensor("w", shape: [5])) { XCTAssertTrue("\($0)".contains("shape [4], expected [5]"), "\($0)") }

        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 4).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { XCTAssertTrue("\($0)".contains(path) && "\($0)".contains("outside"), "\($0)") }

        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { XCTAssertEqual($0 as? SafetensorsError, .tooSmall(path: path, size: 3)) }

        var huge = Data(); withUnsafeBytes(of: UInt64(1 << 40).littleEndian) { huge.append(contentsOf: $0) }; huge.append(contentsOf: [0x7B, 0x7D])
        try huge.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { XCTAssertTrue("\($0)".contains("header length"), "\($0)") }

        XCTAssertThrowsError(try SafetensorsFile(path: "/nonexistent.safetensors")) { XCTAssertTrue("\($0)".contains("/nonexistent.safetensors")) }
    }

    func testUnsupportedDTypeIsNamed() throws {
        let header = #"{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#
        var data = Data(); withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8)); data.append(Data(count: 8))
        let path = tempPath("i64.safetensors")
        try data.write(to: URL(fileURLWithPath: path))
        // Integer buffers (BERT's position_ids) may sit beside the weights: the file opens, reading one names its dtype.
        let file = try SafetensorsFile(path: path)
        XCTAssertThrowsError(try file.tensor("x")) { XCTAssertTrue("\($0)".contains("I64"), "\($0)") }
        let bad = #"{"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,8]}}"#
        var data2 = Data(); withUnsafeBytes(of: UInt64(bad.utf8.count).littleEndian) { data2.append(contentsOf: $0) }
        data2.append(Data(bad.utf8)); data2.append(Data(count: 8))
        try data2.write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try SafetensorsFile(path: path)) { XCTAssertTrue("\($0)".contains("Q7"), "\($0)") }
    }
}
