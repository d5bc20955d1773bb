import CGlimpseKernels
import Foundation

/// The numeric precision of matrix products.
public enum Precision: String, Sendable, CaseIterable {
    /// Float32 everywhere (OpenBLAS sgemm).
    case fp32
    /// bfloat16 weights and activations in matrix products, Float32 accumulation and everything else
    /// (oneDNN); faster than fp32 only where the CPU multiplies bfloat16 natively (AVX-512 BF16, AMX).
    case bf16
    /// Float32 arithmetic on weights stored in IEEE binary16: products over a few rows (a text query, bound by
    /// reading the weights) read half the bytes, converted in the kernel (F16C); larger products use Float32 weights.
    case fp16
    /// Int8 weights (per output channel) and activations (per row, quantized on the fly), int32 accumulation;
    /// layer norms, softmax, attention, patch embeddings and the final projections stay Float32.
    case int8

    /// What layers that quantization hurts most (a patch embedding, the projection into the shared embedding
    /// space, the MLP output projection) run in: Float32 arithmetic on binary16 weights under int8, else this precision.
    public var forSensitiveLayers: Precision { self == .int8 ? .fp16 : self }

    /// The kernels that run matrix products in this precision here ("openblas-f32", "onednn-bf16", "int8-avx512-vnni").
    public var kernelDescription: String {
        switch self {
        case .fp32: LinearLayer.float32GEMM.rawValue
        case .bf16: LinearLayer.Backend.oneDNNBF16.rawValue
        case .fp16: "f16-weights+" + LinearLayer.float32GEMM.rawValue
        case .int8: "int8-" + Int8Kernel.current.rawValue + "+f16-weights"
        }
    }

    /// Whether this CPU runs the precision faster than fp32.
    public var isFastOnThisCPU: Bool {
        switch self {
        case .fp32, .fp16: true
        case .bf16: glimpse_cpu_has_bf16() == 1
        case .int8: Int8Kernel.current != .portable
        }
    }
}

/// What a user asks for: a precision, or `auto`, the fastest whose accuracy holds on this CPU.
public enum PrecisionRequest: String, Sendable, CaseIterable {
    case auto, fp32, fp16, bf16, int8

    /// The precision to run and, when it differs from what was asked for, one line saying why.
    public func resolve() -> (precision: Precision, warning: String?) {
        switch self {
        case .auto:
            // int8 wherever a vector int8 kernel exists (VNNI, AVX2, NEON dot product): cosine ≥ 0.999 to fp32.
            return (Precision.int8.isFastOnThisCPU ? .int8 : .fp32, nil)
        case .fp32: return (.fp32, nil)
        case .fp16: return (.fp16, nil)
        case .int8: return (.int8, nil)
        case .bf16:
            if Precision.bf16.isFastOnThisCPU { return (.bf16, nil) }
            return (.fp32, "bf16 needs AVX-512 BF16 or AMX, which this CPU lacks (it would run slower than fp32): using fp32")
        }
    }

    public init(_ precision: Precision) { self = PrecisionRequest(rawValue: precision.rawValue)! }
}

/// The int8 matrix kernels, chosen at run time from the CPU's features; each computes the same int32 sums.
public enum Int8Kernel: String, Sendable, CaseIterable {
    case portable, neonDot = "neon-dot", avx2, avxVNNI = "avx-vnni", avx512VNNI = "avx512-vnni"

    var level: Int32 {
        switch self {
        case .portable: Int32(GLIMPSE_Q8_PORTABLE.rawValue)
        case .neonDot: Int32(GLIMPSE_Q8_NEON_DOT.rawValue)
        case .avx2: Int32(GLIMPSE_Q8_AVX2.rawValue)
        case .avxVNNI: Int32(GLIMPSE_Q8_AVX_VNNI.rawValue)
        case .avx512VNNI: Int32(GLIMPSE_Q8_AVX512_VNNI.rawValue)
        }
    }

    init(level: Int32) { self = Self.allCases.first { $0.level == level } ?? .portable }

    /// The kernel int8 layers run now: the best this CPU has, or `GLIMPSE_INT8_KERNEL`'s choice when the CPU has it.
    public static var current: Int8Kernel {
        _ = environmentChoice
        return Int8Kernel(level: glimpse_q8_kernel())
    }

    /// Whether this CPU runs the kernel.
    public var isSupported: Bool { glimpse_q8_supported(level) == 1 }

    /// Runs every int8 layer on this kernel from now on (tests and benchmarks compare kernels); false when the CPU
    /// lacks it. Layers quantize activations on each call, so switching is safe between calls.
    @discardableResult
    public static func use(_ kernel: Int8Kernel?) -> Bool {
        _ = environmentChoice
        return glimpse_q8_use_kernel(kernel?.level ?? -1) == 1
    }

    private static let environmentChoice: Void = {
        if let name = ProcessInfo.processInfo.environment["GLIMPSE_INT8_KERNEL"], let kernel = Int8Kernel(rawValue: name) {
            _ = glimpse_q8_use_kernel(kernel.level)
        }
    }()
}
