import Foundation
import XCTest
@testable import GlimpseImage

/// Decode + preprocess throughput on one core. Skipped unless GLIMPSE_IMAGE_BENCH names
/// a JPEG (e.g. a 3000×4000 photo); run in release:
///
///     GLIMPSE_IMAGE_BENCH=/path/photo.jpg swift test -c release -Xswiftc -enable-testing \
///         --scratch-path .build-image --filter ThroughputTests
final class ThroughputTests: XCTestCase {
    func testDecodeAndPreprocessThroughput() throws {
        guard let path = ProcessInfo.processInfo.environment["GLIMPSE_IMAGE_BENCH"] else {
            throw XCTSkip("set GLIMPSE_IMAGE_BENCH to a JPEG path to measure throughput")
        }
        let preprocessor = CLIPImagePreprocessor(config: ImagePreprocessorConfig())
        let decoder = ImageDecoder()
        let image = try decoder.decode(path: path)
        print("benchmark image: \(image.width)×\(image.height)")

        // Process CPU time (all threads, libvips's worker included) is reported next to
        // wall time: on a busy machine it is the steadier measure of single-core cost.
        func cpuSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
        }
        func measure(_ label: String, _ body: () throws -> Void) rethrows {
            try body()  // warm-up
            var runs = 0
            let start = Date(), cpuStart = cpuSeconds()
            while Date().timeIntervalSince(start) < 3 || runs < 3 {
                try body()
                runs += 1
            }
            let wall = Date().timeIntervalSince(start) / Double(runs)
            let cpu = (cpuSeconds() - cpuStart) / Double(runs)
            print(String(format: "%@: %.1f ms CPU/image (%.2f images/s per core); wall %.1f ms",
                         label, cpu * 1000, 1 / cpu, wall * 1000))
        }
        try measure("decode only (exact)") { _ = try decoder.decode(path: path) }
        try measure("decode only (shrink-on-load)") { _ = try decoder.decode(path: path, shrinkOnLoadTarget: 224) }
        measure("resize + crop + normalise of decoded image") { _ = preprocessor.pixelValues(image) }
        try measure("decode + preprocess, exact") {
            _ = try preprocessor.pixelValues(path: path, decoder: decoder, fast: false)
        }
        try measure("decode + preprocess, shrink-on-load") {
            _ = try preprocessor.pixelValues(path: path, decoder: decoder, fast: true)
        }
    }
}
