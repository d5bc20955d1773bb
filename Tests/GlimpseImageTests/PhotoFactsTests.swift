import Foundation
import XCTest
@testable import GlimpseImage

final class PhotoFactsTests: XCTestCase {
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures").path

    func testReadsDateCameraAndGPSFromEXIF() {
        let facts = PhotoFacts.read(path: fixtures + "/exif/camera_gps.jpg")
        XCTAssertEqual(facts.takenAt, "2021-05-31T20:44:07", "DateTimeOriginal, not DateTime")
        XCTAssertEqual(facts.cameraMake, "Canon")
        XCTAssertEqual(facts.cameraModel, "Canon EOS 5D Mark IV")
        XCTAssertEqual(facts.latitude ?? 0, 51.507303, accuracy: 1e-6)
        XCTAssertEqual(facts.longitude ?? 0, -0.1275, accuracy: 1e-6, "west is negative")
    }

    func testFilesWithoutEXIFOrUnreadableGiveNoFacts() {
        XCTAssertEqual(PhotoFacts.read(path: fixtures + "/images/tiny_3x5.png"), PhotoFacts())
        XCTAssertEqual(PhotoFacts.read(path: fixtures + "/images/broken/does-not-exist.jpg"), PhotoFacts())
        XCTAssertEqual(PhotoFacts.isoDate("0000:00:00 00:00:00"), nil)
        XCTAssertEqual(PhotoFacts.degrees("1/0 2/1 3/1"), nil)
    }
}
