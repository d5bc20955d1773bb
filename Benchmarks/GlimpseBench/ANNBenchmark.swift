import ArgumentParser
import Foundation
import GlimpseIndex

/// HNSW build time, recall@k and single-thread queries/s on real embeddings (.npy files written by
/// Benchmarks/make_ann_vectors.py); Benchmarks/reference_ann.py runs hnswlib on the same files.
struct ANNBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ann", abstract: "Benchmark the HNSW index against exact search on float32 .npy vectors.")

    @Option(help: "Base vectors, float32 .npy of shape (n, d).") var base: String
    @Option(help: "Query vectors, float32 .npy of shape (q, d).") var queries: String
    @Option(help: "HNSW M (layer 0 has 2·M links).") var m = 16
    @Option(name: .customLong("ef-construction"), help: "HNSW efConstruction.") var efConstruction = 200
    @Option(help: "Comma-separated query-time ef values.") var ef = "10,20,40,80,160"
    @Option(help: "Neighbours per query (recall@k).") var k = 10
    @Option(help: "Timed passes over the queries per ef; the fastest is reported.") var passes = 2
    @Option(help: "Also save the index here and time loading it.") var save: String?
    @Option(help: "Load this saved index instead of building one (to tune queries).") var load: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let efs = ef.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let baseMatrix = try NPY.readFloat32Matrix(base)
        let queryMatrix = try NPY.readFloat32Matrix(queries)
        let n = baseMatrix.rows, d = baseMatrix.columns
        guard queryMatrix.columns == d else { throw ValidationError("queries are \(queryMatrix.columns)-d, base is \(d)-d") }
        let queryVectors = (0..<queryMatrix.rows).map { queryMatrix.row($0) }
        let labels = (0..<n).map { Int64($0) }

        // Ground truth: exact search, all queries at once (BLAS).
        let exact = ExactIndex(dimension: d, capacity: n)
        try exact.add(labels: labels, vectors: (0..<n).map { baseMatrix.row($0) })
        var truth: [[SearchResult]] = []
        let truthSeconds = seconds { truth = try! exact.search(batch: queryVectors, k: k) }
        let truthSets = truth.map { Set($0.map(\.label)) }
        // Exact single-query speed, for the AutoIndex threshold.
        let exactSample = Array(queryVectors.prefix(100))
        let exactSeconds = seconds { for q in exactSample { _ = try! exact.search(q, k: k) } }

        var index = HNSWIndex(dimension: d, parameters: .init(M: m, efConstruction: efConstruction), capacity: n)
        let cpu0 = processCPUSeconds()
        var buildSeconds = 0.0
        if let load {
            index = try HNSWIndex.load(from: load, expectedDimension: d)
        } else {
            buildSeconds = try baseMatrix.values.withUnsafeBufferPointer { flat in
                let start = DispatchTime.now().uptimeNanoseconds
                try index.add(labels: labels, flatVectors: flat)
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
        }
        let buildCPUSeconds = processCPUSeconds() - cpu0

        var loadSeconds: Double?
        if let save {
            try index.save(to: save, generation: 1)
            loadSeconds = seconds { _ = try! HNSWIndex.load(from: save) }
        }

        var results: [[String: Any]] = []
        for e in efs {
            for q in queryVectors.prefix(200) { _ = try index.search(query: q, k: k, ef: e) }  // warm-up
            var best = Double.infinity, bestCPU = Double.infinity
            var hits = 0
            for _ in 0..<max(passes, 1) {
                hits = 0
                let cpu0 = threadCPUSeconds()
                let t = seconds {
                    for (i, q) in queryVectors.enumerated() {
                        let found = try! index.search(query: q, k: k, ef: e)
                        for r in found where truthSets[i].contains(r.label) { hits += 1 }
                    }
                }
                best = min(best, t)
                bestCPU = min(bestCPU, threadCPUSeconds() - cpu0)
            }
            results.append([
                "ef": e,
                "recall@\(k)": (Double(hits) / Double(queryVectors.count * k) * 10000).rounded() / 10000,
                "qps": (Double(queryVectors.count) / best).rounded(),
                "qps_cpu": (Double(queryVectors.count) / bestCPU).rounded(),
            ])
        }

        var out: [String: Any] = [
            "library": "glimpse",
            "n": n, "dimension": d, "M": m, "ef_construction": efConstruction,
            "threads": ProcessInfo.processInfo.activeProcessorCount,
            "build_seconds": (buildSeconds * 100).rounded() / 100,
            "build_cpu_seconds": (buildCPUSeconds * 100).rounded() / 100,
            "index_mb": (Double(index.memoryBytes) / 1e6 * 10).rounded() / 10,
            "max_level": index.maxLevel,
            "exact_qps": (Double(exactSample.count) / exactSeconds).rounded(),
            "ground_truth_seconds": (truthSeconds * 100).rounded() / 100,
            "results": results,
        ]
        if let loadSeconds { out["load_seconds"] = (loadSeconds * 1000).rounded() / 1000 }
        if json {
            let data = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("HNSW M=\(m) efConstruction=\(efConstruction) on \(n) × \(d), \(queryVectors.count) queries")
            print(String(format: "build %.2f s, index %.1f MB, exact search %.0f q/s", buildSeconds,
                         Double(index.memoryBytes) / 1e6, Double(exactSample.count) / exactSeconds))
            for r in results {
                print("ef \(r["ef"]!): recall@\(k) \(r["recall@\(k)"]!), \(r["qps"]!) q/s (\(r["qps_cpu"]!) per CPU-second)")
            }
        }
    }
}

/// CPU time of the calling thread (immune to other processes' load, unlike wall time).
private func threadCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// CPU time of the whole process, all threads.
private func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
