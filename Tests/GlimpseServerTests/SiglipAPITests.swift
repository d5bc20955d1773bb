import Foundation
import GlimpseModels
import GlimpseServer
import HummingbirdTesting
import NIOCore
import XCTest

/// The API over a SigLIP library: cosine scores, and the model's own probability on text searches only.
final class SiglipAPITests: XCTestCase {
    func testTextSearchCarriesTheModelsProbability() async throws {
        let fixture = try await ServerFixture(thumbnails: false, model: "siglip2-tiny")
        let info = fixture.service.embedder.model.info
        let scale = try XCTUnwrap(info.logitScale), bias = try XCTUnwrap(info.logitBias)
        try await fixture.test { client in
            try await client.execute(uri: "/api/search?q=a%20red%20flower&limit=5", method: .get) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertEqual(response.results.count, 5)
                for result in response.results {
                    let score = try XCTUnwrap((result["score"] as? NSNumber)?.floatValue)
                    let probability = try XCTUnwrap((result["probability"] as? NSNumber)?.floatValue, "\(result)")
                    XCTAssertTrue((-1...1).contains(score))
                    XCTAssertEqual(probability, 1 / (1 + exp(-(score * exp(scale) + bias))), accuracy: 1e-5)
                }
            }
            try await client.execute(uri: "/api/search/image", method: .post, headers: [.contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: try ServerFixture.bytes("rocket_444.jpg"))) { response in
                XCTAssertEqual(response.status, .ok)
                XCTAssertFalse(response.results.isEmpty)
                XCTAssertNil(response.results.first?["probability"], "image queries have no text–image probability")
            }
        }
        await fixture.remove()
        let clip = try await ServerFixture(thumbnails: false)
        try await clip.test { client in
            try await client.execute(uri: "/api/search?q=a%20red%20flower", method: .get) { response in
                XCTAssertNil(response.results.first?["probability"], "CLIP has no sigmoid calibration")
            }
        }
        await clip.remove()
    }
}
