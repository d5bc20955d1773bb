import Foundation

extension HNSWIndex {
    /// Writes the index atomically (see `IndexFileHeader` for the format): sections LVL0 (the layer-0 records,
    /// vectors and labels included), LEVL (levels), UPPR (upper-layer link blocks in id order), DELE (removal flags).
    public func save(to path: String, origin: IndexOrigin) throws {
        let n = elementCount
        let v = view
        var upperWords = 0
        for i in 0..<n { upperWords += Int(v.levels[i]) * upperListSize }
        let upperFlat = UnsafeMutablePointer<UInt32>.allocate(capacity: max(upperWords, 1))
        defer { upperFlat.deallocate() }
        var at = 0
        for i in 0..<n where v.levels[i] > 0 {
            let words = Int(v.levels[i]) * upperListSize
            (upperFlat + at).update(from: v.upper[i]!, count: words)
            at += words
        }
        let header = IndexFileHeader(
            kind: .hnsw, dimension: dimension, M: M, count: n, liveCount: count, efConstruction: efConstruction, ef: ef,
            maxLevel: maxLevel, sectionCount: 4, entryPoint: entryPoint.map { Int($0) } ?? -1, generation: origin.generation,
            levelSeed: rng.state, libraryID: origin.libraryID)
        let writer = try IndexFileWriter(path: path)
        try writer.write(header.encoded())
        try writer.writeSection(.level0, level0Base, n * recordSize)
        try writer.writeSection(.levels, v.levels, n * 4)
        try writer.writeSection(.upper, upperFlat, upperWords * 4)
        try writer.writeSection(.deleted, v.deleted, n)
        try writer.commit()
    }

    /// Reads an index written by `save`. Throws `IndexFileError` for a missing, truncated, corrupt, foreign or
    /// (with `expectedGeneration`) stale file; checks the whole graph's structure, so a damaged file cannot crash
    /// a later search.
    public static func load(from path: String, expectedGeneration: UInt64? = nil, expectedDimension: Int? = nil) throws -> HNSWIndex {
        let reader = try IndexFileReader(path: path)
        let h = try reader.readHeader(expecting: .hnsw)
        if let expectedGeneration, h.generation != expectedGeneration {
            throw IndexFileError.stale(path: path, found: h.generation, expected: expectedGeneration)
        }
        if let expectedDimension, h.dimension != expectedDimension {
            throw IndexFileError.dimensionMismatch(path: path, found: h.dimension, expected: expectedDimension)
        }
        func corrupt(_ reason: String) -> IndexFileError { .corrupt(path: path, reason: reason) }
        guard h.M >= 2, h.M <= 2048 else { throw corrupt("impossible M \(h.M)") }
        guard h.efConstruction >= 1, h.ef >= 1 else { throw corrupt("impossible ef \(h.ef) / efConstruction \(h.efConstruction)") }
        guard h.sectionCount == 4 else { throw corrupt("\(h.sectionCount) sections, expected 4") }
        let n = h.count
        if n == 0 {
            guard h.entryPoint == -1, h.maxLevel == -1 else { throw corrupt("empty index with an entry point") }
        } else {
            guard h.entryPoint >= 0, h.entryPoint < n else { throw corrupt("entry point \(h.entryPoint) out of 0..<\(n)") }
            guard h.maxLevel >= 0, h.maxLevel <= 64 else { throw corrupt("impossible maxLevel \(h.maxLevel)") }
        }
        let index = HNSWIndex(dimension: h.dimension,
                              parameters: Parameters(M: h.M, efConstruction: h.efConstruction, ef: h.ef, seed: 0), capacity: 16)
        guard index.efConstruction == h.efConstruction else { throw corrupt("efConstruction \(h.efConstruction) below M") }
        // Sizes first: a header claiming a billion elements must not allocate before the file proves it.
        let (length0, checksum0) = try reader.readSectionHeader(.level0, length: n * index.recordSize)
        index.reserve(max(n, 16))
        try reader.readBody(.level0, into: index.level0Base, length: length0, checksum: checksum0)
        let v = index.view
        try reader.readSection(.levels, into: v.levels, length: n * 4)
        var upperWords = 0
        for i in 0..<n {
            let l = Int(v.levels[i])
            guard l >= 0, l <= h.maxLevel else { throw corrupt("element \(i) has level \(l), maxLevel is \(h.maxLevel)") }
            upperWords += l * index.upperListSize
        }
        if n > 0, Int(v.levels[h.entryPoint]) != h.maxLevel { throw corrupt("entry point is not on the top level") }
        let (upperLength, upperChecksum) = try reader.readSectionHeader(.upper, length: upperWords * 4)
        let upperFlat = UnsafeMutablePointer<UInt32>.allocate(capacity: max(upperWords, 1))
        defer { upperFlat.deallocate() }
        try reader.readBody(.upper, into: upperFlat, length: upperLength, checksum: upperChecksum)
        try reader.readSection(.deleted, into: v.deleted, length: n)
        try reader.finish()

        // Upper blocks, then the structure: counts within bounds, links to existing elements of high enough level.
        var at = 0
        for i in 0..<n {
            let l = Int(v.levels[i])
            if l > 0 {
                let words = l * index.upperListSize
                let block = UnsafeMutablePointer<UInt32>.allocate(capacity: words)
                block.update(from: upperFlat + at, count: words)
                v.upper[i] = block
                at += words
            } else {
                v.upper[i] = nil
            }
        }
        index.restore(count: n, maxLevel: h.maxLevel, entryPoint: n > 0 ? UInt32(h.entryPoint) : nil, deletedCount: 0,
                      levelState: h.levelSeed, labels: [:], upperBytes: upperWords * 4)
        var deleted = 0
        var labels = [Int64: UInt32](minimumCapacity: n)
        for i in 0..<n {
            let id = UInt32(i)
            let flag = v.deleted[i]
            guard flag <= 1 else { throw corrupt("element \(i) has removal flag \(flag)") }
            if flag == 1 { deleted += 1 }
            for level in 0...Int(v.levels[i]) {
                let ll = v.links(id, level: level)
                let c = Int(ll[0])
                guard c <= (level == 0 ? index.maxM0 : index.maxM) else { throw corrupt("element \(i) has \(c) links on level \(level)") }
                for j in 0..<c {
                    let other = Int(ll[1 + j])
                    guard other < n, Int(v.levels[other]) >= level else {
                        throw corrupt("element \(i) links to \(other) on level \(level)")
                    }
                }
            }
            // A label's current element is its last one; earlier ones must be tombstones.
            let label = index.label(of: id)
            if let previous = labels.updateValue(id, forKey: label), v.deleted[Int(previous)] == 0 {
                throw corrupt("label \(label) is live on two elements")
            }
        }
        guard n - deleted == h.liveCount else { throw corrupt("header says \(h.liveCount) live elements, flags say \(n - deleted)") }
        index.restore(count: n, maxLevel: h.maxLevel, entryPoint: n > 0 ? UInt32(h.entryPoint) : nil, deletedCount: deleted,
                      levelState: h.levelSeed, labels: labels, upperBytes: upperWords * 4)
        return index
    }
}
