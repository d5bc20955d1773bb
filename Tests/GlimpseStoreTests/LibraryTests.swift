import Foundation
import GRDB
@testable import GlimpseStore
import XCTest

/// Synthetic images (no model): a path, a size and a unit vector in `dimension` dimensions.
func record(_ i: Int, dimension: Int = 8, folder: String = "/photos") -> ImageRecord {
    var vector = (0..<dimension).map { d in Float(sin(Double(i * 31 + d * 7) + 0.5)) }
    let norm = sqrt(vector.reduce(0) { $0 + $1 * $1 })
    vector = vector.map { $0 / norm }
    return ImageRecord(path: "\(folder)/\(i).jpg", size: Int64(1000 + i), mtimeNanoseconds: Int64(i), contentHash: String(format: "%016x", i),
                       width: 10, height: 10, format: "jpeg", embedding: vector)
}

func temporaryLibraryDirectory() -> String {
    NSTemporaryDirectory() + "glimpse-store-\(UUID().uuidString)"
}

final class LibraryTests: XCTestCase {
    var directories: [String] = []
    override func tearDown() { for d in directories { try? FileManager.default.removeItem(atPath: d) } }

    func makeLibrary() throws -> Library {
        let dir = temporaryLibraryDirectory()
        directories.append(dir)
        return try Library(directory: dir)
    }

    func testMigrationsRunOnceInOrderAndGiveTheLibraryAnId() throws {
        let library = try makeLibrary()
        let names = try library.database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        XCTAssertEqual(names, ["v1: images and settings", "v2: change generations for incremental index updates", "v3: library identity",
                               "v4: captions", "v5: list sources and metadata"])
        let reopened = try Library(directory: library.directory)
        XCTAssertEqual(reopened.id, library.id, "the id is made once")
        XCTAssertNotEqual(try makeLibrary().id, library.id)
        XCTAssertEqual(try library.database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }, "wal")
    }

    /// A library made before ids existed (migrations v1 and v2 only) gets one when it is next opened.
    func testLibraryFromBeforeIdsGetsOneOnUpgrade() throws {
        let library = try makeLibrary()
        try library.saveImages([record(1)])
        try library.database.write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v3: library identity'")
            try db.execute(sql: "DELETE FROM setting WHERE key = 'library.id'")
        }
        let upgraded = try Library(directory: library.directory)
        XCTAssertNotEqual(upgraded.id, library.id)
        XCTAssertEqual(try upgraded.imageCount(), 1)
        XCTAssertEqual(try Library(directory: library.directory).id, upgraded.id)
    }

    func testChangesSinceAGenerationAreExactlyTheRowsWrittenAndRemoved() throws {
        let library = try makeLibrary()
        let ids = try library.saveImages((0..<5).map { record($0) })
        let first = try library.generation()
        let written = try library.saveImages([record(1), record(9)])  // one replaced, one new
        try library.removeImages(ids: [ids[3]])
        let changes = try library.changes(since: first)
        XCTAssertEqual(written[0], ids[1])
        XCTAssertEqual(Set(changes.upserts.map(\.0)), Set(written))
        XCTAssertEqual(changes.removals, [ids[3]])
        XCTAssertEqual(changes.generation, try library.generation())
        XCTAssertEqual(changes.upserts.first { $0.0 == ids[1] }?.1, record(1).vector)
        XCTAssertTrue(try library.changes(since: changes.generation).upserts.isEmpty)
        XCTAssertEqual(try library.changes(since: 0).upserts.count, 5)
    }

    /// Moving an image onto a path another image holds replaces that one, and the index hears of its removal.
    func testMoveOntoAnExistingPathReplacesTheImageThere() throws {
        let library = try makeLibrary()
        let ids = try library.saveImages([record(1), record(2)])
        let before = try library.generation()
        try library.moveImages([(id: ids[0], newPath: "/photos/2.jpg", mtimeNanoseconds: 77)])
        XCTAssertEqual(try library.imageCount(), 1)
        let moved = try XCTUnwrap(try library.image(path: "/photos/2.jpg"))
        XCTAssertEqual(moved.id, ids[0])
        XCTAssertEqual(moved.mtimeNanoseconds, 77)
        XCTAssertEqual(moved.contentHash, record(1).contentHash)
        XCTAssertNil(try library.image(id: ids[1]))
        XCTAssertEqual(try library.changes(since: before).removals, [ids[1]])
    }

    /// The pool lets a read run while a write transaction is open (a running index job never blocks searches).
    func testReadsAnswerWhileAWriteTransactionIsOpen() throws {
        let library = try makeLibrary()
        try library.saveImages([record(1)])
        let inside = DispatchSemaphore(value: 0), readDone = DispatchSemaphore(value: 0)
        let answered = Box()
        DispatchQueue.global().async {
            try? library.database.write { db in
                try db.execute(sql: "UPDATE setting SET value = value WHERE key = 'generation'")
                inside.signal()
                answered.ok = readDone.wait(timeout: .now() + 30) == .success
            }
        }
        XCTAssertEqual(inside.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(try library.imageCount(), 1)
        XCTAssertNotNil(try library.image(path: "/photos/1.jpg"))
        readDone.signal()
        for _ in 0..<300 where !answered.ok { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertTrue(answered.ok, "the read waited for the writer")
    }
}

final class Box: @unchecked Sendable { var ok = false }
