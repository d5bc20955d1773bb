import CGlimpseKernels
import Synchronization

/// A linear layer run by oneDNN with weights packed once into its blocked layout, in bfloat16 (AVX-512 BF16
/// dot products, Float32 accumulation) or Float32. Falls back to OpenBLAS fp32 if oneDNN cannot serve the shape.
final class DNNLMatmul: @unchecked Sendable {
    private let handle: OpaquePointer
    init?(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int, inFeatures: Int, typicalRows: Int, bf16: Bool) {
        guard let h = glimpse_matmul_create(weight, bias, outFeatures, inFeatures, typicalRows, bf16 ? 1 : 0) else { return nil }
        handle = h
        self.outFeatures = outFeatures; self.inFeatures = inFeatures
    }
    deinit { glimpse_matmul_destroy(handle) }
    private let outFeatures: Int, inFeatures: Int

    /// Rows are split across the worker pool, each part a single-threaded oneDNN call: oneDNN's own OpenMP
    /// threads would spin between calls against the pool's threads on the same cores.
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) -> Bool {
        let failed = Atomic(false)
        let handle = UncheckedSendable(handle), N = outFeatures, K = inFeatures
        parallelChunks(rows, minimumPerChunk: 16) { range in
            if glimpse_matmul_run(handle.value, out + range.lowerBound * N, inp + range.lowerBound * K, range.count) != 0 {
                failed.store(true, ordering: .relaxed)
            }
        }
        return !failed.load(ordering: .relaxed)
    }
}
