import CGlimpseKernels

/// A linear layer's weights quantized to int8 once (symmetric, per output channel), and its int8 forward pass:
/// activations are quantized per row on each call, products accumulate in int32, and dequantization is fused
/// with the bias and an optional activation.
final class Int8Weights: @unchecked Sendable {
    private let packed: OpaquePointer
    let outFeatures: Int, inFeatures: Int
    private let paddedInputs: Int, panels: Int

    init?(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int, inFeatures: Int) {
        guard let p = glimpse_q8_pack(weight, bias, outFeatures, inFeatures) else { return nil }
        packed = p
        self.outFeatures = outFeatures; self.inFeatures = inFeatures
        paddedInputs = glimpse_q8_padded_inputs(p); panels = glimpse_q8_panels(p)
    }

    deinit { glimpse_q8_free(packed) }

    /// Rows at or above this are split across cores by rows (each core reads every weight); fewer, by column panels
    /// (each weight is read once: a text query is bound by reading them).
    private static let rowSplitMinimum = 64

    /// out (rows, OC) = activation(inp (rows, C) · Wᵀ + b).
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, activation: Activation?) {
        let kernel = glimpse_q8_kernel()
        let unsigned = glimpse_q8_unsigned_activations(kernel)
        let K = inFeatures, Kp = paddedInputs
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: max(rows * Kp, 1), alignment: 64)
            .bindMemory(to: UInt8.self, capacity: max(rows * Kp, 1))
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: max(rows, 1))
        defer { quantized.deallocate(); scales.deallocate() }
        parallelChunks(rows, minimumPerChunk: 32) { range in
            glimpse_q8_quantize_rows(quantized + range.lowerBound * Kp, scales + range.lowerBound, inp + range.lowerBound * K,
                                     range.count, K, Kp, unsigned)
        }
        let kind = activation?.kind ?? -1
        let packed = UncheckedSendable(self.packed)
        if rows >= Self.rowSplitMinimum {
            parallelChunks(rows, minimumPerChunk: 16) { range in
                glimpse_q8_linear(out, quantized, scales, packed.value, kernel, range.lowerBound, range.upperBound, 0, panels, kind)
            }
        } else {
            parallelChunks(panels, minimumPerChunk: 4) { range in
                glimpse_q8_linear(out, quantized, scales, packed.value, kernel, 0, rows, range.lowerBound, range.upperBound, kind)
            }
        }
    }
}
