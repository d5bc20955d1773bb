import CGlimpseKernels

/// A linear layer run by oneDNN with weights packed once into its blocked layout, in bfloat16 (AVX-512 BF16
/// dot products, Float32 accumulation) or Float32. Falls back to OpenBLAS fp32 if oneDNN cannot serve the shape.
final class DNNLMatmul: @unchecked Sendable {
    private let handle: OpaquePointer
    init?(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int, inFeatures: Int, typicalRows: Int, bf16: Bool) {
        guard let h = glimpse_matmul_create(weight, bias, outFeatures, inFeatures, typicalRows, bf16 ? 1 : 0) else { return nil }
        handle = h
    }
    deinit { glimpse_matmul_destroy(handle) }
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) -> Bool {
        glimpse_matmul_run(handle, out, inp, rows) == 0
    }
}
