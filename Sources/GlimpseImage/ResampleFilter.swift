#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Pillow's resampling filters, numbered like `PIL.Image.Resampling` (and like the
/// `resample` key of `preprocessor_config.json`).
public enum ResampleFilter: Int, Sendable, Codable {
    case nearest = 0
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5

    /// Filter radius in source pixels at scale 1 (Pillow's `support`).
    var support: Double {
        switch self {
        case .nearest, .box: return 0.5
        case .bilinear, .hamming: return 1.0
        case .bicubic: return 2.0
        case .lanczos: return 3.0
        }
    }

    /// The kernel, written with the same operations in the same order as Pillow's C
    /// so that every double-precision weight is bit-identical.
    @inline(__always)
    func weight(_ xIn: Double) -> Double {
        var x = xIn
        switch self {
        case .box, .nearest:
            return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0
        case .bilinear:
            if x < 0.0 { x = -x }
            return x < 1.0 ? 1.0 - x : 0.0
        case .hamming:
            if x < 0.0 { x = -x }
            if x == 0.0 { return 1.0 }
            if x >= 1.0 { return 0.0 }
            x = x * Double.pi
            // Pillow writes 0.54f / 0.46f: single-precision constants.
            return sin(x) / x * (Double(Float(0.54)) + Double(Float(0.46)) * cos(x))
        case .bicubic:
            let a = -0.5
            if x < 0.0 { x = -x }
            if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
            if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0.0
        case .lanczos:
            if -3.0 <= x && x < 3.0 { return Self.sinc(x) * Self.sinc(x / 3) }
            return 0.0
        }
    }

    private static func sinc(_ xIn: Double) -> Double {
        if xIn == 0.0 { return 1.0 }
        let x = xIn * Double.pi
        return sin(x) / x
    }
}
