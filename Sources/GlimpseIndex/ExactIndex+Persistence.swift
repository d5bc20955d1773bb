import Foundation

extension ExactIndex {
    /// Writes the index atomically (see `IndexFileHeader` for the format): sections VECS (rows) and LABL (labels).
    public func save(to path: String, origin: IndexOrigin) throws {
        let header = IndexFileHeader(
            kind: .exact, dimension: dimension, M: 0, count: count, liveCount: count, efConstruction: 0, ef: 0,
            maxLevel: -1, sectionCount: 2, entryPoint: -1, generation: origin.generation, levelSeed: 0, libraryID: origin.libraryID)
        let writer = try IndexFileWriter(path: path)
        try writer.write(header.encoded())
        try writer.writeSection(.vectors, vectors, count * dimension * 4)
        try writer.writeSection(.labels, labelPointer, count * 8)
        try writer.commit()
    }

    /// Reads an index written by `save`; throws `IndexFileError` for a missing, truncated, corrupt, foreign or
    /// (with `expectedGeneration`) stale file.
    public static func load(from path: String, expectedGeneration: UInt64? = nil, expectedDimension: Int? = nil) throws -> ExactIndex {
        let reader = try IndexFileReader(path: path)
        let h = try reader.readHeader(expecting: .exact)
        if let expectedGeneration, h.generation != expectedGeneration {
            throw IndexFileError.stale(path: path, found: h.generation, expected: expectedGeneration)
        }
        if let expectedDimension, h.dimension != expectedDimension {
            throw IndexFileError.dimensionMismatch(path: path, found: h.dimension, expected: expectedDimension)
        }
        guard h.sectionCount == 2, h.liveCount == h.count else {
            throw IndexFileError.corrupt(path: path, reason: "inconsistent exact-index header")
        }
        let n = h.count
        let (vectorBytes, vectorChecksum) = try reader.readSectionHeader(.vectors, length: n * h.dimension * 4)
        let index = ExactIndex(dimension: h.dimension, capacity: max(n, 16))
        try reader.readBody(.vectors, into: index.vectors, length: vectorBytes, checksum: vectorChecksum)
        let labels = UnsafeMutablePointer<Int64>.allocate(capacity: max(n, 1))
        defer { labels.deallocate() }
        try reader.readSection(.labels, into: labels, length: n * 8)
        try reader.finish()
        try index.restore(labels: labels, count: n, path: path)
        return index
    }
}
