import XCTest
@testable import GlimpseTensor

/// Crafted safetensors headers and configuration files: each gives an error that names the file and the
/// problem, never a trap or a read outside the file (regressions for the parser hardening and fuzzing).
final class HostileHeaderTests: XCTestCase {
    func safetensors(_ header: String, body: Int = 0) -> [UInt8] {
        var data: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { data.append(contentsOf: $0) }
        data += Array(header.utf8) + [UInt8](repeating: 0, count: body)
        return data
    }

    func parse(_ bytes: [UInt8]) throws -> SafetensorsFile.Header {
        try bytes.withUnsafeBytes { try SafetensorsFile.parseHeader($0, path: "crafted.safetensors") }
    }

    func testShapeProductOverflowingIntIsABadHeader() {
        // 2^32 × 2^32 × 4 elements: the product wraps to 0 in unchecked arithmetic, which matched data_offsets [0, 0].
        let bytes = safetensors(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,0]}}"#)
        XCTAssertThrowsError(try parse(bytes)) { error in
            guard case let .badHeader(path, reason)? = error as? SafetensorsError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "crafted.safetensors")
            XCTAssertTrue(reason.contains("w") && reason.contains("overflows"), reason)
        }
    }

    func testByteSizeOverflowingIntIsABadHeader() {
        // The element count fits, count × 4 bytes does not.
        let bytes = safetensors(#"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}}"#)
        XCTAssertThrowsError(try parse(bytes)) { XCTAssertTrue("\($0)".contains("overflows"), "\($0)") }
    }

    func testOffsetsOutsideTheFileOrReversedAreRefused() {
        for offsets in ["[0,1000]", "[8,4]", "[-4,0]", "[0,-9223372036854775808]", "[1e300,1e300]", "[0.5,4.5]", "[0]", "[\"0\",\"4\"]"] {
            let bytes = safetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":"# + offsets + "}}", body: 8)
            XCTAssertThrowsError(try parse(bytes), offsets) { XCTAssertTrue("\($0)".contains("crafted.safetensors"), "\($0)") }
        }
    }

    func testByteLengthMustMatchDTypeTimesElements() {
        let bytes = safetensors(#"{"w":{"dtype":"F16","shape":[3],"data_offsets":[0,4]}}"#, body: 8)
        XCTAssertThrowsError(try parse(bytes)) { XCTAssertTrue("\($0)".contains("needs 6"), "\($0)") }
    }

    func testNonIntegerShapesAreRefusedNotDropped() {
        // compactMap used to drop "x" and read the tensor as shape [2].
        for shape in [#"[2,"x"]"#, "[2,-1]", "[true]", "[1.5]", "[1e30]"] {
            let bytes = safetensors(#"{"w":{"dtype":"F32","shape":"# + shape + #","data_offsets":[0,8]}}"#, body: 8)
            XCTAssertThrowsError(try parse(bytes), shape)
        }
    }

    func testHeaderLengthAboveIntMaxIsABadHeader() {
        // Int(UInt64) trapped for lengths of 2^63 and above.
        var bytes = [UInt8](repeating: 0xFF, count: 8) + Array("{}".utf8)
        bytes[7] = 0xF0
        XCTAssertThrowsError(try parse(bytes)) { XCTAssertTrue("\($0)".contains("header length"), "\($0)") }
    }

    func testValidHeaderStillParsesFromBytes() throws {
        let data = SafetensorsWriter.data([.init(name: "w", shape: [2, 2], values: [1, 2, 3, 4])], dtype: .bf16)
        let header = try parse(Array(data))
        XCTAssertEqual(header.entries["w"]?.shape, [2, 2])
        XCTAssertEqual(header.entries["w"]?.byteRange, 0..<8)
        XCTAssertEqual(header.metadata["format"], "pt")
    }

    func testConfigIntegerOutOfRangeIsAnErrorNotATrap() throws {
        let config = try JSONConfig(data: Data(#"{"a": 1e300, "b": -1e19, "c": 12, "d": 3.0, "e": 1.5}"#.utf8), path: "crafted/config.json")
        XCTAssertThrowsError(try config.int("a", default: 0)) {
            XCTAssertEqual($0 as? ConfigError, .invalidValue(path: "crafted/config.json", key: "a", reason: "1e+300 is out of range"))
        }
        XCTAssertThrowsError(try config.int("b", default: 0)) { XCTAssertTrue("\($0)".contains("out of range"), "\($0)") }
        XCTAssertEqual(try config.int("c", default: 0), 12)
        XCTAssertEqual(try config.int("d", default: 0), 3)
        XCTAssertThrowsError(try config.int("e", default: 0))
    }
}

extension HostileHeaderTests {
    /// model.safetensors.index.json may only name shards inside the model folder.
    func testShardIndexNamingAPathOutsideTheFolderIsRefused() throws {
        let dir = NSTemporaryDirectory() + "glimpse-shards-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let index = dir + "/model.safetensors.index.json"
        try Data(#"{"weight_map": {"w": "../../etc/passwd"}}"#.utf8).write(to: URL(fileURLWithPath: index))
        XCTAssertThrowsError(try SafetensorsCheckpoint(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains(index) && "\(error)".contains("../../etc/passwd"), "\(error)")
        }
    }
}
