import Foundation
import GlimpseIndex

/// The vector index of a library, kept in `index/vectors.gidx` and derived from SQLite.
///
/// The file records the library generation it reflects. A stale file is brought up to date in place from the
/// rows written and removed since (cheap after a small re-index); a missing or corrupt one is rebuilt from every
/// stored embedding. Small libraries use exact search, large ones HNSW (AutoIndex switches by itself).
public enum LibraryIndex {
    public static func path(_ library: Library) -> String {
        (library.indexDirectory as NSString).appendingPathComponent("vectors.gidx")
    }

    /// The up-to-date index of `library`, saving it when it had to be updated or rebuilt.
    public static func load(library: Library, configuration: AutoIndex.Configuration = AutoIndex.Configuration()) throws -> AutoIndex {
        try FileManager.default.createDirectory(atPath: library.indexDirectory, withIntermediateDirectories: true)
        let file = path(library)
        let generation = try library.generation()
        guard let dimension = try library.setting("model.dimension").flatMap(Int.init) ?? library.anyEmbeddingDimension() else {
            return AutoIndex(dimension: 1, configuration: configuration)  // an empty library without a model yet
        }
        if let header = try? IndexFileHeader.read(from: file), header.dimension == dimension,
           Int64(header.generation) <= generation,
           let index = try? AutoIndex.load(from: file, expectedDimension: dimension, configuration: configuration) {
            if Int64(header.generation) == generation { return index }
            let changes = try library.changes(since: Int64(header.generation))
            for id in changes.removals { index.remove(label: id) }
            if !changes.upserts.isEmpty {
                try index.add(labels: changes.upserts.map(\.0), vectors: changes.upserts.map(\.1))
            }
            try index.save(to: file, generation: UInt64(generation))
            return index
        }
        let index = AutoIndex(dimension: dimension, configuration: configuration)
        var labels: [Int64] = [], vectors: [[Float]] = []
        try library.forEachEmbedding { id, vector in
            labels.append(id); vectors.append(vector)
            if labels.count == 50_000 { try index.add(labels: labels, vectors: vectors); labels = []; vectors = [] }
        }
        if !labels.isEmpty { try index.add(labels: labels, vectors: vectors) }
        try index.save(to: file, generation: UInt64(generation))
        return index
    }

    /// Brings the index file up to date (after `glimpse index`).
    public static func refresh(library: Library) throws { _ = try load(library: library) }
}
