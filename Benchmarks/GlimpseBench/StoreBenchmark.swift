import ArgumentParser
import Foundation
import GlimpseIndex
import GlimpseStore

/// A store under load through the same protocol the engine uses: bulk insert rate (vectors/s, index build included)
/// and single-client search speed and recall@k per ef, on real embeddings (.npy files from make_ann_vectors.py).
/// Compare with pgvector queried directly: Benchmarks/reference_pgvector.sh runs pgbench on the same table; with
/// Milvus queried directly: Benchmarks/reference_milvus.py runs pymilvus's searches on the same collection.
struct StoreBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Insert rate and search QPS / recall of a store (a folder, postgres://… or milvus://…).")

    @Option(help: "A library folder (emptied first), a postgres:// URL (its schema is dropped first: use ?schema=bench) or a milvus:// URL (its collection is dropped first).")
    var store: String
    @Option(help: "Base vectors, float32 .npy of shape (n, d).") var base: String
    @Option(help: "Query vectors, float32 .npy of shape (q, d).") var queries: String
    @Option(help: "Rows per insert batch.") var batch = 1000
    @Option(help: "Comma-separated query-time ef values.") var ef = "10,20,40,80,160"
    @Option(help: "Neighbours per query (recall@k).") var k = 10
    @Flag(help: "Keep the loaded store (to run the pgvector or pymilvus reference on it).") var keep = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() async throws {
        let efs = ef.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let baseMatrix = try NPY.readFloat32Matrix(base)
        let queryMatrix = try NPY.readFloat32Matrix(queries)
        let n = baseMatrix.rows, d = baseMatrix.columns
        let queryVectors = (0..<queryMatrix.rows).map { queryMatrix.row($0) }

        let location = try StoreLocation(store)
        if case let .folder(directory) = location { try? FileManager.default.removeItem(atPath: directory) }
        var opened = try await location.open(create: true)
        if let postgres = opened as? PostgresStore {
            try await postgres.destroy()
            await postgres.close()
            opened = try await location.open(create: true)
        }
        if let milvus = opened as? MilvusStore {
            try await milvus.destroy()
            await milvus.close()
            opened = try await location.open(create: true)
        }
        let target = opened
        try await target.bindModel(name: "bench", fingerprint: "bench-\(d)", dimension: d)

        // Bulk insert: synthetic paths, the real vectors, in batches; the index is built at the end.
        var ids: [Int64] = []
        let start = DispatchTime.now().uptimeNanoseconds
        try await target.bulkLoad {
            for first in stride(from: 0, to: n, by: batch) {
                let records = (first..<min(first + batch, n)).map { i in
                    ImageRecord(path: "/bench/\(i).jpg", size: 1, mtimeNanoseconds: 1, contentHash: String(format: "%016x", i),
                                width: 1, height: 1, format: "jpeg", embedding: baseMatrix.row(i))
                }
                ids += try await target.saveImages(records)
            }
        }
        try await target.refresh()  // the embedded store builds its in-memory index here
        let insertSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        // Searches through a second connection that wrote nothing, as a server's: for Milvus, the URL's consistency
        // level (Bounded by default) rather than waiting for the loader's last write.
        let searcher: any ImageStore = target is MilvusStore ? try await location.open(create: false) : target

        // Ground truth by exact search, as stored ids.
        let exact = ExactIndex(dimension: d, capacity: n)
        try exact.add(labels: (0..<n).map { Int64($0) }, vectors: (0..<n).map { baseMatrix.row($0) })
        let truth = try exact.search(batch: queryVectors, k: k).map { Set($0.map { ids[Int($0.label)] }) }

        var rows: [[String: Any]] = []
        for e in efs {
            for q in queryVectors.prefix(50) { _ = try await searcher.nearest(to: q, k: k, minScore: nil, ef: e) }  // warm-up
            var hits = 0
            let t0 = DispatchTime.now().uptimeNanoseconds
            for (i, q) in queryVectors.enumerated() {
                let found = try await searcher.nearest(to: q, k: k, minScore: nil, ef: e)
                hits += found.filter { truth[i].contains($0.id) }.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            rows.append(["ef": e, "recall@\(k)": (Double(hits) / Double(queryVectors.count * k) * 10000).rounded() / 10000,
                         "qps": (Double(queryVectors.count) / seconds).rounded(),
                         "ms_per_query": (seconds / Double(queryVectors.count) * 1e6).rounded() / 1000])
        }
        let result: [String: Any] = [
            "store": target.location, "index": target.indexKind, "vectors": n, "dimension": d, "queries": queryVectors.count,
            "insert_vectors_per_s": (Double(n) / insertSeconds).rounded(), "insert_seconds": (insertSeconds * 100).rounded() / 100,
            "search": rows, "peak_rss_mb": peakRSSMegabytes().rounded(),
        ]
        if !keep, let postgres = target as? PostgresStore { try await postgres.destroy() }
        if !keep, let milvus = target as? MilvusStore { try await milvus.destroy() }
        if searcher !== target { await searcher.close() }
        await target.close()
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(result)
        }
    }
}
