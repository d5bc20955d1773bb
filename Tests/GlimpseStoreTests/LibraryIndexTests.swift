import Foundation
import GlimpseIndex
@testable import GlimpseStore
import XCTest

final class LibraryIndexTests: XCTestCase {
    var directories: [String] = []
    override func tearDown() { for d in directories { try? FileManager.default.removeItem(atPath: d) } }

    func makeLibrary(at dir: String? = nil) throws -> Library {
        let dir = dir ?? temporaryLibraryDirectory()
        directories.append(dir)
        let library = try Library(directory: dir)
        try library.bindModel(name: "test", fingerprint: "f", dimension: 8)
        return library
    }

    func labels(_ index: LibraryIndex) throws -> Set<Int64> {
        Set(try index.vectors.search(record(0).vector, k: 1000).map(\.label))
    }

    /// A small write costs what it changes: the index reads only the changed rows and writes no file until a
    /// checkpoint; reopening after a checkpoint reads no rows at all.
    func testCatchUpReadsOnlyWhatChangedAndWritesTheFileOnlyAtCheckpoints() throws {
        let library = try makeLibrary()
        try library.saveImages((0..<2000).map { record($0) })
        let index = try LibraryIndex(library: library)
        XCTAssertEqual(index.vectors.count, 2000)
        try index.checkpoint()
        XCTAssertEqual(index.fileWrites, 1)
        let before = library.statistics.rowsRead
        let id = try library.saveImages([record(5000)])[0]
        XCTAssertEqual(try index.catchUp(), 1)
        XCTAssertEqual(library.statistics.rowsRead - before, 1, "catching up read more than the new row")
        XCTAssertEqual(try index.vectors.search(record(5000).vector, k: 1).first?.label, id)
        XCTAssertEqual(index.fileWrites, 1, "a small write must not rewrite the index file")
        XCTAssertTrue(index.needsCheckpoint)
        try index.checkpoint()
        try index.checkpoint()
        XCTAssertEqual(index.fileWrites, 2)
        XCTAssertFalse(index.needsCheckpoint)

        let reads = library.statistics.rowsRead
        let reopened = try LibraryIndex(library: library)
        XCTAssertEqual(library.statistics.rowsRead, reads, "an up-to-date file is loaded, not rebuilt")
        XCTAssertEqual(reopened.vectors.count, 2001)
    }

    /// Killed after SQLite committed but before the index file was written: the next open catches up.
    func testIndexCatchesUpWithRowsTheFileMissed() throws {
        let library = try makeLibrary()
        try library.saveImages((0..<10).map { record($0) })
        try LibraryIndex(library: library).checkpoint()
        let ids = try library.saveImages([record(20), record(21)])
        try library.removeImages(ids: [ids[0]])
        let reopened = try LibraryIndex(library: library)
        XCTAssertEqual(reopened.vectors.count, 11)
        XCTAssertTrue(reopened.vectors.contains(label: ids[1]))
        XCTAssertFalse(reopened.vectors.contains(label: ids[0]))
        XCTAssertEqual(reopened.reflectedGeneration, try library.generation())
    }

    /// The index file records the library's id: a file copied from another library, or left by a library that was
    /// deleted and created again at the same path, is rebuilt, never trusted, even at the same generation.
    func testIndexOfAnotherOrRecreatedLibraryIsRebuilt() throws {
        let a = try makeLibrary()
        try a.saveImages((0..<6).map { record($0, folder: "/a") })
        try LibraryIndex(library: a).checkpoint()
        XCTAssertEqual(try IndexFileHeader.read(from: LibraryIndex.path(a)).libraryID, a.id)

        let b = try makeLibrary()
        try b.saveImages((100..<106).map { record($0, folder: "/b") })
        XCTAssertEqual(try b.generation(), try a.generation())
        try FileManager.default.createDirectory(atPath: b.indexDirectory, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: LibraryIndex.path(a), toPath: LibraryIndex.path(b))
        let bIndex = try LibraryIndex(library: b)
        XCTAssertEqual(try labels(bIndex), Set(try b.fileStates().map(\.id)))
        try bIndex.checkpoint()
        XCTAssertEqual(try IndexFileHeader.read(from: LibraryIndex.path(b)).libraryID, b.id)

        // Library a is deleted and made again with other images; its old index file is still there.
        let dir = a.directory
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dir + "/" + Library.databaseFileName + suffix) }
        let again = try makeLibrary(at: dir)
        try again.saveImages([record(7, folder: "/new")])
        XCTAssertNotEqual(again.id, a.id)
        let index = try LibraryIndex(library: again)
        XCTAssertEqual(index.vectors.count, 1)
        XCTAssertEqual(try labels(index), Set(try again.fileStates().map(\.id)))
    }
}
