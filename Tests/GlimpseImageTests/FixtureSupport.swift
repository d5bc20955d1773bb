import Foundation
import XCTest
@testable import GlimpseImage

/// Locations of the shared fixtures (Tests/Fixtures, see CONTRACT.md) and of this
/// target's own expectation files, found relative to this source file.
enum Fixtures {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let root = testsDirectory.deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let images = root.appendingPathComponent("images")
    static let broken = images.appendingPathComponent("broken")
    static let crops = root.appendingPathComponent("reference/crops")
    static let tinyModel = root.appendingPathComponent("models/clip-tiny-f32")
    static let resources = testsDirectory.appendingPathComponent("Resources")

    struct ImageEntry: Decodable {
        let file: String
        let large: Bool
        let cmyk: Bool?
        let crop: String?
        var name: String { (file as NSString).lastPathComponent }
        var path: String { Fixtures.root.appendingPathComponent(file).path }
    }

    /// The images listed in the clip-tiny-f32 reference (each with its crop).
    static func imageEntries() throws -> [ImageEntry] {
        struct Reference: Decodable { let images: [ImageEntry] }
        let url = root.appendingPathComponent("reference/clip-tiny-f32.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("fixtures not generated yet: \(url.path)")
        }
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url)).images
    }

    static func preprocessor224() throws -> CLIPImagePreprocessor {
        try CLIPImagePreprocessor(contentsOf: tinyModel.appendingPathComponent("preprocessor_config.json"))
    }
}

/// Per-sample comparison of two uint8 images.
struct SampleDifference: CustomStringConvertible {
    let max: Int
    let mean: Double
    let differing: Int
    let count: Int

    init(_ a: [UInt8], _ b: [UInt8]) {
        precondition(a.count == b.count)
        var maxDiff = 0, sum = 0, differing = 0
        for i in 0..<a.count {
            let d = abs(Int(a[i]) - Int(b[i]))
            sum += d
            if d > maxDiff { maxDiff = d }
            if d != 0 { differing += 1 }
        }
        self.max = maxDiff
        self.mean = a.isEmpty ? 0 : Double(sum) / Double(a.count)
        self.differing = differing
        self.count = a.count
    }

    var description: String {
        String(format: "max %d, mean %.4f, %d of %d samples differ", max, mean, differing, count)
    }
}
