import CGlimpseKernels
import COpenBLAS
import Foundation

/// A linear layer's parameters, ready for the chosen precision.
/// weight is (OC, C) as nn.Linear stores it, bias is (OC).
public final class LinearLayer: @unchecked Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: Tensor
    public let bias: Tensor?
    public private(set) var precision: Precision = .fp32
    private var bf16: DNNLMatmul?
    private var int8: Int8Weights?
    /// The weights as bfloat16 bits, for the few-rows kernel under `.bf16` (half the memory traffic).
    private var weightBF16: UnsafeMutablePointer<UInt16>?
    /// The weights as binary16 bits, for the few-rows kernel under `.fp16`.
    private var weightF16: UnsafeMutablePointer<UInt16>?

    /// At most this many rows go through the few-rows kernel (memory-bound: a text query); more use a GEMM. Measured
    /// on ViT-B/32 text shapes: the few-rows kernel is 2× faster at 20 rows, even at 32, slower from 48.
    public static let fewRowsLimit = 32

    /// Which library runs Float32 GEMMs, chosen once per process. OpenBLAS, unless its run-time CPU detection fell
    /// back to a pre-AVX2 kernel on a CPU that has AVX2 (it does on CPUs it does not know, such as some virtualised
    /// Xeons reporting a generic model: its SSE3 "Prescott" kernel then runs ~5× below oneDNN's JIT kernels).
    /// `GLIMPSE_FP32_GEMM=openblas|onednn` overrides the choice.
    public static let float32GEMM: Backend = {
        switch ProcessInfo.processInfo.environment["GLIMPSE_FP32_GEMM"] {
        case "openblas": return .openBLAS
        case "onednn": return .oneDNN
        default: break
        }
        let core = openBLASCore.lowercased()
        let preAVX2 = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "northwood", "katmai", "coppermine",
                       "banias", "opteron", "opteron_sse3", "barcelona", "bobcat", "sandybridge", "bulldozer", "unknown"]
        return glimpse_cpu_has_avx2_fma() == 1 && preAVX2.contains(core) ? .oneDNN : .openBLAS
    }()

    /// The kernel family OpenBLAS picked for this CPU ("Haswell", "SkylakeX", "Zen", … or a fallback).
    public static var openBLASCore: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// oneDNN Float32 weights, when `float32GEMM` is oneDNN.
    private var oneDNNFloat32: DNNLMatmul?

    public init(weight: Tensor, bias: Tensor?) {
        precondition(weight.shape.count == 2, "linear weight must be 2-D, got \(weight.shape)")
        outFeatures = weight.shape[0]
        inFeatures = weight.shape[1]
        precondition(bias == nil || bias!.count == outFeatures, "bias has \(bias!.count) values for \(outFeatures) outputs")
        self.weight = weight
        self.bias = bias
    }

    /// The implementations a layer can run on (for benchmarks and tests; `prepare` picks one).
    public enum Backend: String, CaseIterable, Sendable {
        case openBLAS = "openblas-f32", oneDNN = "onednn-f32", oneDNNBF16 = "onednn-bf16"
    }

    private var forced: DNNLMatmul?
    private var forcedBackend: Backend?

    /// Forces a back end; false when it is unavailable on this CPU.
    public func use(_ backend: Backend) -> Bool {
        forcedBackend = backend
        switch backend {
        case .openBLAS: forced = nil; return true
        case .oneDNN, .oneDNNBF16:
            forced = DNNLMatmul(weight: weight.pointer, bias: bias?.pointer, outFeatures: outFeatures, inFeatures: inFeatures,
                                typicalRows: 1024, bf16: backend == .oneDNNBF16)
            return forced != nil
        }
    }

    deinit { weightBF16?.deallocate(); weightF16?.deallocate() }

    /// Bytes of weights a forward pass reads in the prepared precision.
    public var weightBytes: Int {
        let count = outFeatures * inFeatures
        switch precision { case .fp32: return 4 * count; case .bf16, .fp16: return 2 * count; case .int8: return count }
    }

    /// Few rows: split output columns across cores, each weight row read once.
    func forwardFewRows(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        let N = outFeatures, K = inFeatures
        let w = weight.pointer, b = bias?.pointer
        let wb = precision == .bf16 ? weightBF16 : nil, wh = precision == .fp16 ? weightF16 : nil
        parallelChunks(N / 4, minimumPerChunk: 64) { range in
            let n0 = range.lowerBound * 4
            let n1 = range.upperBound == N / 4 ? N : range.upperBound * 4
            if let wh {
                glimpse_linear_rows_f16(out, inp, wh, b, rows, K, N, n0, n1)
            } else if let wb {
                glimpse_linear_rows_bf16(out, inp, wb, b, rows, K, N, n0, n1)
            } else {
                glimpse_linear_rows_f32(out, inp, w, b, rows, K, N, n0, n1)
            }
        }
    }

    /// Switches precision; bf16, fp16 and int8 convert the weights once, here.
    public func prepare(_ precision: Precision) {
        self.precision = precision
        if precision == .fp16, weightF16 == nil {
            let w = UnsafeMutablePointer<UInt16>.allocate(capacity: outFeatures * inFeatures)
            glimpse_f32_to_f16(w, weight.pointer, outFeatures * inFeatures)
            weightF16 = w
        }
        if precision == .fp32 || precision == .fp16, Self.float32GEMM == .oneDNN, oneDNNFloat32 == nil {
            oneDNNFloat32 = DNNLMatmul(weight: weight.pointer, bias: bias?.pointer, outFeatures: outFeatures, inFeatures: inFeatures,
                                       typicalRows: 1024, bf16: false)
        }
        if precision == .bf16, weightBF16 == nil {
            let w = UnsafeMutablePointer<UInt16>.allocate(capacity: outFeatures * inFeatures)
            glimpse_f32_to_bf16(w, weight.pointer, outFeatures * inFeatures)
            weightBF16 = w
        }
        if precision == .int8, int8 == nil {
            let ranges = rangeLock.withLock { observedRanges }
            int8 = Int8Weights(weight: weight.pointer, bias: bias?.pointer, outFeatures: outFeatures, inFeatures: inFeatures,
                               float32Channels: ranges.map(Int8Calibration.outliers) ?? [])
        }
        if precision == .bf16, bf16 == nil {
            bf16 = DNNLMatmul(weight: weight.pointer, bias: bias?.pointer, outFeatures: outFeatures, inFeatures: inFeatures,
                              typicalRows: 1024, bf16: true)
        }
    }

    /// out (N, OC) = activation(inp (N, C) · weightᵀ + bias); int8 applies the activation as it dequantizes.
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int, activation: Activation?) {
        if forcedBackend == nil, precision == .int8, let int8 {
            int8.forward(out, inp, rows: rows, activation: activation)
            return
        }
        forward(out, inp, rows: rows)
        activation?.apply(out, count: rows * outFeatures)
    }

    /// Per input channel, the largest |x| seen while `Int8Calibration` recorded.
    private var observedRanges: [Float]?
    private let rangeLock = NSLock()

    /// The input channels int8 keeps in Float32 (none before int8 is prepared).
    public var float32Channels: [Int] { int8?.float32Channels ?? [] }

    private func observe(_ inp: UnsafePointer<Float>, rows: Int) {
        var ranges = [Float](repeating: 0, count: inFeatures)
        for r in 0..<rows {
            let row = inp + r * inFeatures
            for c in 0..<inFeatures { ranges[c] = max(ranges[c], abs(row[c])) }
        }
        rangeLock.withLock {
            if let seen = observedRanges { observedRanges = zip(seen, ranges).map { max($0, $1) } } else { observedRanges = ranges }
        }
    }

    /// out (N, OC) = inp (N, C) · weightᵀ + bias.
    public func forward(_ out: UnsafeMutablePointer<Float>, _ inp: UnsafePointer<Float>, rows: Int) {
        if precision != .int8, Int8Calibration.isRecording { observe(inp, rows: rows) }
        if let forced, forced.forward(out, inp, rows: rows) { return }
        if forcedBackend == nil, precision == .int8, let int8 {
            int8.forward(out, inp, rows: rows, activation: nil)
            return
        }
        if forcedBackend == nil, rows <= Self.fewRowsLimit {
            forwardFewRows(out, inp, rows: rows)
            return
        }
        if precision == .bf16, let bf16, bf16.forward(out, inp, rows: rows) {
            return
        } else if precision == .fp32 || precision == .fp16, forcedBackend == nil, let oneDNNFloat32, oneDNNFloat32.forward(out, inp, rows: rows) {
            return
        } else {
            linear(out, inp, weight: weight.pointer, bias: bias?.pointer, rows: rows, inFeatures: inFeatures, outFeatures: outFeatures)
        }
    }
}
