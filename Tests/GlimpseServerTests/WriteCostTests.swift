import Foundation
import GlimpseEngine
@testable import GlimpseServer
import GlimpseStore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest

/// Small writes cost what they change: an upload into a large library reads and writes no more than one into a
/// small library, and writes are refused (not queued behind) a running rescan.
final class WriteCostTests: XCTestCase {
    var fixtures: [ServerFixture] = []
    override func tearDown() async throws { for f in fixtures { await f.remove() } }

    /// Adds `count` synthetic images (paths that do not exist, random unit vectors) straight to the library.
    func grow(_ fixture: ServerFixture, by count: Int) async throws {
        let dimension = fixture.service.embedder.embeddingDim
        var generator = SystemRandomNumberGenerator()
        for start in stride(from: 0, to: count, by: 5000) {
            let records = (start..<min(start + 5000, count)).map { i -> ImageRecord in
                var v = (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
                let n = sqrt(v.reduce(0) { $0 + $1 * $1 }); v = v.map { $0 / n }
                return ImageRecord(path: "/nowhere/\(i).jpg", size: 1, mtimeNanoseconds: 1, contentHash: String(format: "%016x", i),
                                   width: 1, height: 1, format: "jpeg", embedding: v)
            }
            try fixture.library.saveImages(records)
        }
        try await fixture.service.applyChanges()
    }

    struct UploadCost: Equatable { let rowsRead: Int; let indexFileWrites: Int }

    func uploadCost(_ fixture: ServerFixture, _ image: String) async throws -> (UploadCost, Duration) {
        let service = fixture.service
        let rows = fixture.library.statistics.rowsRead, writes = try fixture.store.index().fileWrites
        let bytes = try ServerFixture.bytes(image)
        let start = ContinuousClock.now
        let record = try await service.upload(imageBytes: bytes)
        let took = ContinuousClock.now - start
        let found = try await service.search(vector: record.vector, options: SearchOptions(limit: 1, offset: 0, minScore: nil))
        XCTAssertEqual(found.first?.id, record.id)
        return (UploadCost(rowsRead: fixture.library.statistics.rowsRead - rows, indexFileWrites: try fixture.store.index().fileWrites - writes), took)
    }

    func testAnUploadIntoALargeLibraryCostsWhatItDoesInASmallOne() async throws {
        let configuration = ServerConfiguration(checkpointDelay: 3600)  // the file is written at shutdown only
        let small = try await ServerFixture(configuration: configuration, thumbnails: false)
        let large = try await ServerFixture(configuration: configuration, thumbnails: false)
        fixtures = [small, large]
        try await grow(large, by: 15_000)
        XCTAssertEqual(try large.store.index().vectors.count, 15_000 + ServerFixture.photos.count)
        let (smallCost, smallTime) = try await uploadCost(small, "rocket_exif6.jpg")
        let (largeCost, largeTime) = try await uploadCost(large, "rocket_exif6.jpg")
        print("upload into \(try small.store.index().vectors.count - 1) images: \(smallTime), into \(try large.store.index().vectors.count - 1): \(largeTime)")
        XCTAssertEqual(largeCost, smallCost)
        XCTAssertLessThanOrEqual(largeCost.rowsRead, 1, "an upload reads the changed row only")
        XCTAssertEqual(largeCost.indexFileWrites, 0, "an upload must not rewrite the index file")
        // Deleting is as cheap.
        let rows = large.library.statistics.rowsRead
        let id = try large.id(of: "rocket_444.jpg")
        try await large.service.delete(id: id)
        XCTAssertLessThanOrEqual(large.library.statistics.rowsRead - rows, 1)
        XCTAssertEqual(try large.store.index().fileWrites, 0)
        // Shutdown writes the file once, and it holds everything.
        await large.service.shutdown()
        XCTAssertEqual(try large.store.index().fileWrites, 1)
        let reopened = try LibraryIndex(library: large.library)
        XCTAssertEqual(reopened.vectors.count, try large.store.index().vectors.count)
        XCTAssertFalse(reopened.vectors.contains(label: id))
    }

    /// While a write holds the library (here an upload waiting for a decode slot), a rescan is refused with 409, and
    /// accepted once the write is done.
    func testRescanIsRefusedWhileAnotherWriteRuns() async throws {
        let fixture = try await ServerFixture(configuration: ServerConfiguration(maxConcurrentDecodes: 1), thumbnails: false)
        fixtures = [fixture]
        let service = fixture.service
        let gate = DispatchSemaphore(value: 0)
        let blocker = Task { try await service.decodes.run { gate.wait() } }
        for _ in 0..<1000 where service.decodes.peakConcurrency == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let bytes = try ServerFixture.bytes("rocket_exif6.jpg")
        let upload = Task { try await service.upload(imageBytes: bytes) }
        for _ in 0..<1000 where !service.isWriting { try await Task.sleep(for: .milliseconds(5)) }
        XCTAssertTrue(service.isWriting)
        try await fixture.test { client in
            try await assertAPIError(client, "/api/index", method: .post, status: .conflict, code: "indexing_in_progress")
            try await assertAPIError(client, "/api/images", method: .post, headers: [.contentType: "image/jpeg"],
                                     body: ByteBuffer(bytes: bytes), status: .conflict, code: "indexing_in_progress")
        }
        gate.signal()
        try await blocker.value
        let record = try await upload.value
        XCTAssertNotNil(record.id)
        try await fixture.test { client in
            try await client.execute(uri: "/api/index", method: .post) { XCTAssertEqual($0.status, .accepted) }
        }
        for _ in 0..<600 where service.indexStatus.snapshot.state == .running { try await Task.sleep(for: .milliseconds(50)) }
    }
}
