import Foundation
import XCTest
import GlimpseTensor
@testable import GlimpseModels

/// Crafted config.json values that used to reach shape products, `%` or allocations unchecked.
final class HostileConfigTests: XCTestCase {
    func config(_ text: String) throws -> CLIPConfig {
        try CLIPConfig(json: JSONConfig(data: Data(text.utf8), path: "crafted/config.json"))
    }

    func testOutOfRangeSizesAreErrorsNamingTheKey() {
        let cases = [
            (#"{"model_type": "clip", "text_config": {"vocab_size": 0}}"#, "vocab_size"),
            (#"{"model_type": "clip", "text_config": {"eos_token_id": -1}}"#, "eos_token_id"),
            (#"{"model_type": "clip", "text_config": {"hidden_size": 4611686018427387904, "num_attention_heads": 1}}"#, "hidden_size"),
            (#"{"model_type": "clip", "vision_config": {"image_size": 1e300}}"#, "image_size"),
            (#"{"model_type": "clip", "projection_dim": -5}"#, "projection_dim"),
        ]
        for (json, key) in cases {
            XCTAssertThrowsError(try config(json), key) { error in
                XCTAssertTrue("\(error)".contains("crafted/config.json") && "\(error)".contains(key), "\(error)")
            }
        }
        XCTAssertNoThrow(try config(#"{"model_type": "clip"}"#))
    }
}
