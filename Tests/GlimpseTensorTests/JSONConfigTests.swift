import XCTest
@testable import GlimpseTensor

final class JSONConfigTests: XCTestCase {
    func testDefaultsAndTypeErrors() throws {
        let path = NSTemporaryDirectory() + "glimpse-config-\(UUID().uuidString).json"
        try Data(#"{"hidden_size": 64, "hidden_act": "gelu", "eps": 1e-6, "nested": {"a": 1}, "bad": "x"}"#.utf8).write(to: URL(fileURLWithPath: path))
        let config = try JSONConfig(contentsOf: path)
        XCTAssertEqual(try config.int("hidden_size", default: 1), 64)
        XCTAssertEqual(try config.int("missing", default: 7), 7)
        XCTAssertEqual(try config.string("hidden_act", default: ""), "gelu")
        XCTAssertEqual(try config.double("eps", default: 0), 1e-6)
        XCTAssertEqual(try config.object("nested").int("a", default: 0), 1)
        XCTAssertThrowsError(try config.int("bad", default: 0)) { XCTAssertEqual($0 as? ConfigError, .wrongType(path: path, key: "bad", expected: "an integer")) }
    }

    func testMissingAndInvalidFiles() throws {
        XCTAssertThrowsError(try JSONConfig(contentsOf: "/nonexistent/config.json")) {
            XCTAssertEqual($0 as? ConfigError, .missingFile(path: "/nonexistent/config.json"))
        }
        let path = NSTemporaryDirectory() + "glimpse-config-\(UUID().uuidString).json"
        try Data("{oops".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try JSONConfig(contentsOf: path)) { XCTAssertTrue("\($0)".contains(path) && "\($0)".contains("not valid JSON")) }
    }
}
