import CGlimpseKernels
import COpenBLAS

/// A linear layer's weights quantized to int8 once (symmetric, per output channel), and its int8 forward pass:
/// activations are quantized per row on each call, products accumulate in int32, and dequantization is fused
/// with the bias and an optional activation.
final class Int8Weights: @unchecked Sendable {
    private let packed: OpaquePointer
    let outFeatures: Int, inFeatures: Int
    private let paddedInputs: Int, panels: Int

    /// Input channels computed in Float32 (calibration's outliers): zero in the int8 weights, and their weight
    /// columns kept here as (channels, OC).
    let float32Channels: [Int]
    private let float32Columns: [Float]
    /// 1 for the channels int8 quantizes, 0 for `float32Channels` (nil when there are none).
    private let keepMask: UnsafeMutablePointer<Float>?

    init?(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, outFeatures: Int, inFeatures: Int, float32Channels: [Int] = []) {
        self.float32Channels = float32Channels
        var columns = [Float](repeating: 0, count: float32Channels.count * outFeatures)
        for (j, k) in float32Channels.enumerated() {
            for n in 0..<outFeatures { columns[j * outFeatures + n] = weight[n * inFeatures + k] }
        }
        float32Columns = columns
        let p: OpaquePointer?
        if float32Channels.isEmpty {
            p = glimpse_q8_pack(weight, bias, outFeatures, inFeatures)
        } else {
            // The int8 scales come from the other channels only.
            var rest = Array(UnsafeBufferPointer(start: weight, count: outFeatures * inFeatures))
            for k in float32Channels { for n in 0..<outFeatures { rest[n * inFeatures + k] = 0 } }
            p = glimpse_q8_pack(rest, bias, outFeatures, inFeatures)
        }
        guard let p else { return nil }
        packed = p
        if float32Channels.isEmpty {
            keepMask = nil
        } else {
            let keep = UnsafeMutablePointer<Float>.allocate(capacity: inFeatures)
            keep.initialize(repeating: 1, count: inFeatures)
            for k in float32Channels { keep[k] = 0 }
            keepMask = keep
        }
        self.outFeatures = outFeatures; self.inFeatures = inFeatures
        paddedInputs = glimpse_q8_padded_inputs(p); panels = glimpse_q8_panels(p)
    }

    deinit { glimpse_q8_free(packed); keepMask?.deallocate() }

    /// Rows at or above this are split across cores by rows (each core reads every weight); fewer, by column panels
    /// (each weight is read once: a text query is bound by reading them).
    private static let rowSplitMinimum = 64

    /// out (rows, OC) = activation(inp (rows, C) · Wᵀ + b).
    func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, activation: Activation?) {
        guard !float32Channels.isEmpty else { return forwardInt8(out, inp, rows: rows, activation: activation) }
        // x = x_int8 + x_f32: the outlier channels are quantized as 0 (left out of each row's range), and their
        // product is added back in Float32.
        let K = inFeatures, J = float32Channels.count, N = outFeatures
        let outliers = UnsafeMutablePointer<Float>.allocate(capacity: rows * J)
        defer { outliers.deallocate() }
        for r in 0..<rows {
            for (j, k) in float32Channels.enumerated() { outliers[r * J + j] = inp[r * K + k] }
        }
        forwardInt8(out, inp, rows: rows, activation: nil)
        float32Columns.withUnsafeBufferPointer { columns in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(rows), Int32(N), Int32(J), 1, outliers, Int32(J),
                        columns.baseAddress, Int32(N), 1, out, Int32(N))
        }
        activation?.apply(out, count: rows * N)
    }

    private func forwardInt8(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, activation: Activation?) {
        let kernel = glimpse_q8_kernel()
        let unsigned = glimpse_q8_unsigned_activations(kernel)
        let K = inFeatures, Kp = paddedInputs
        let keep = UnsafePointer(keepMask)
        let quantized = UnsafeMutableRawPointer.allocate(byteCount: max(rows * Kp, 1), alignment: 64)
            .bindMemory(to: UInt8.self, capacity: max(rows * Kp, 1))
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: max(rows, 1))
        let corrections = UnsafeMutablePointer<Int32>.allocate(capacity: max(rows, 1))
        defer { quantized.deallocate(); scales.deallocate(); corrections.deallocate() }
        func quantize(_ range: Range<Int>) {
            glimpse_q8_quantize_rows(quantized + range.lowerBound * Kp, scales + range.lowerBound, corrections + range.lowerBound,
                                     inp + range.lowerBound * K, range.count, K, Kp, unsigned, keep)
        }
        let kind = activation?.kind ?? -1
        let packed = UncheckedSendable(self.packed)
        if rows >= Self.rowSplitMinimum {
            // Each core quantizes its own rows and multiplies them while they are still in its cache.
            parallelChunks(rows, minimumPerChunk: 16) { range in
                quantize(range)
                glimpse_q8_linear(out, quantized, scales, corrections, packed.value, kernel, range.lowerBound, range.upperBound, 0, panels, kind)
            }
        } else {
            quantize(0..<rows)
            parallelChunks(panels, minimumPerChunk: 4) { range in
                glimpse_q8_linear(out, quantized, scales, corrections, packed.value, kernel, 0, rows, range.lowerBound, range.upperBound, kind)
            }
        }
    }
}
