#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bit-exact re-implementation of Pillow's `Image.resize` for 8-bit RGB images
/// (`ImagingResample` in `src/libImaging/Resample.c`).
///
/// CLIP checkpoints were trained and evaluated on Pillow-resized images, and the
/// reference embeddings come from that path, so matching it sample for sample is what
/// makes Swift embeddings agree with Python's. Pillow's algorithm:
/// - separable: a horizontal and a vertical pass, in the order Pillow 13 picks (see
///   `verticalPassFirst`); a pass is skipped when that dimension does not change;
/// - when downscaling, the filter support is stretched by the scale factor
///   (antialiasing);
/// - weights are computed in double, normalised per output sample, and rounded to
///   fixed point with 22 fractional bits; accumulation is in 32-bit integers starting
///   at one half (`1 << 21`), and each pass clips to 0...255;
/// - when it runs first, the horizontal pass only produces the source rows the
///   vertical pass reads.
public struct PillowResampler: Sendable {
    public let filter: ResampleFilter

    public init(filter: ResampleFilter = .bicubic) {
        self.filter = filter
    }

    static let precisionBits: Int32 = 32 - 8 - 2

    /// Fixed-point weights for resampling one axis from `inSize` to `outSize` samples.
    struct Coefficients {
        /// Taps per output sample (stride of `weights`).
        let taps: Int
        /// For each output sample: first source index and number of source samples used.
        var bounds: [(first: Int, count: Int)]
        /// `outSize * taps` weights, fixed point with `precisionBits` fractional bits.
        let weights: [Int32]

        /// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` (box = whole axis).
        init(inSize: Int, outSize: Int, filter: ResampleFilter) {
            // Pillow passes the box edges as C floats.
            let scale = Double(Float(inSize) - Float(0)) / Double(outSize)
            let filterScale = max(scale, 1.0)
            let support = filter.support * filterScale
            let taps = Int(ceil(support)) * 2 + 1
            var bounds = [(first: Int, count: Int)]()
            bounds.reserveCapacity(outSize)
            var weights = [Int32](repeating: 0, count: outSize * taps)
            var k = [Double](repeating: 0, count: taps)
            let ss = 1.0 / filterScale
            let one = Double(1 << Int(PillowResampler.precisionBits))
            for xx in 0..<outSize {
                let center = 0.0 + (Double(xx) + 0.5) * scale
                var ww = 0.0
                var xmin = Int(center - support + 0.5)
                if xmin < 0 { xmin = 0 }
                var xmax = Int(center + support + 0.5)
                if xmax > inSize { xmax = inSize }
                xmax -= xmin
                for x in 0..<xmax {
                    let w = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                    k[x] = w
                    ww += w
                }
                for x in 0..<xmax where ww != 0.0 {
                    k[x] /= ww
                }
                for x in 0..<xmax {
                    let v = k[x]
                    weights[xx * taps + x] = v < 0 ? Int32(-0.5 + v * one) : Int32(0.5 + v * one)
                }
                bounds.append((xmin, max(xmax, 0)))
            }
            self.taps = taps
            self.bounds = bounds
            self.weights = weights
        }
    }

    /// Resizes to `width`×`height` exactly as `PIL.Image.resize((width, height), filter)`.
    public func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        precondition(width > 0 && height > 0, "resize target must be positive")
        if width == image.width && height == image.height { return image }
        if filter == .nearest { return resizeNearest(image, width: width, height: height) }

        let needHorizontal = width != image.width
        let needVertical = height != image.height
        var vertical = Coefficients(inSize: image.height, outSize: height, filter: filter)

        if Self.verticalPassFirst(inWidth: image.width, inHeight: image.height, outWidth: width, outHeight: height) {
            var current = image
            if needVertical { current = Self.verticalPass(current, coefficients: vertical, outHeight: height) }
            if needHorizontal {
                let horizontal = Coefficients(inSize: image.width, outSize: width, filter: filter)
                current = Self.horizontalPass(current, rows: 0..<current.height, coefficients: horizontal,
                                              outWidth: width)
            }
            return current
        }

        // Horizontal first, only over the source rows the vertical pass will read.
        let firstRow = vertical.bounds[0].first
        let lastRow = vertical.bounds[height - 1].first + vertical.bounds[height - 1].count
        var current = image
        if needHorizontal {
            let horizontal = Coefficients(inSize: image.width, outSize: width, filter: filter)
            for i in 0..<height { vertical.bounds[i].first -= firstRow }
            current = Self.horizontalPass(image, rows: firstRow..<lastRow, coefficients: horizontal, outWidth: width)
        }
        if needVertical {
            current = Self.verticalPass(current, coefficients: vertical, outHeight: height)
        }
        return current
    }

    /// Pillow 13's pass order: the vertical pass runs first when the height shrinks
    /// by more than twice as many pixels as the width does (e.g. tall photos taller
    /// than about 2:1); otherwise horizontal first. The order changes the result
    /// (each pass rounds to 8 bits), so it must match. Determined on Pillow 13.0.0
    /// by comparing its one-call resize with both two-call orders over hundreds of
    /// random sizes (and exact on all of them).
    static func verticalPassFirst(inWidth: Int, inHeight: Int, outWidth: Int, outHeight: Int) -> Bool {
        inHeight >= outHeight && (inHeight - outHeight) > (inWidth - outWidth) * 2
    }

    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> precisionBits
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(truncatingIfNeeded: s))
    }

    static func horizontalPass(_ image: RGBImage, rows: Range<Int>, coefficients c: Coefficients,
                               outWidth: Int) -> RGBImage {
        let inRowLength = image.width * 3
        let outRowLength = outWidth * 3
        let count = rows.count * outRowLength
        let half: Int32 = 1 << (precisionBits - 1)
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                c.weights.withUnsafeBufferPointer { weights in
                    c.bounds.withUnsafeBufferPointer { bounds in
                        let taps = c.taps
                        for (outRow, row) in rows.enumerated() {
                            let srcRow = src.baseAddress! + row * inRowLength
                            let dstRow = out.baseAddress! + outRow * outRowLength
                            for xx in 0..<outWidth {
                                let (first, n) = bounds[xx]
                                let k = weights.baseAddress! + xx &* taps
                                var p = srcRow + first &* 3
                                var s0 = half, s1 = half, s2 = half
                                for x in 0..<n {
                                    let w = k[x]
                                    s0 &+= Int32(p[0]) &* w
                                    s1 &+= Int32(p[1]) &* w
                                    s2 &+= Int32(p[2]) &* w
                                    p += 3
                                }
                                // xx < outWidth: inside the row (wrapping arithmetic cannot wrap).
                                dstRow[xx &* 3] = clip8(s0)
                                dstRow[xx &* 3 &+ 1] = clip8(s1)
                                dstRow[xx &* 3 &+ 2] = clip8(s2)
                            }
                        }
                    }
                }
            }
            initialized = count
        }
        return RGBImage(width: outWidth, height: rows.count, pixels: pixels)
    }

    static func verticalPass(_ image: RGBImage, coefficients c: Coefficients, outHeight: Int) -> RGBImage {
        let rowLength = image.width * 3
        let count = outHeight * rowLength
        let half: Int32 = 1 << (precisionBits - 1)
        var accumulator = [Int32](repeating: 0, count: rowLength)
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            image.pixels.withUnsafeBufferPointer { src in
                accumulator.withUnsafeMutableBufferPointer { acc in
                    for yy in 0..<outHeight {
                        let (first, n) = c.bounds[yy]
                        for i in 0..<rowLength { acc[i] = half }
                        // Row-at-a-time accumulation: the same integer sums as Pillow's
                        // per-sample loop, but over contiguous memory.
                        for y in 0..<n {
                            let w = c.weights[yy * c.taps + y]
                            let row = src.baseAddress! + (first + y) * rowLength
                            for i in 0..<rowLength {
                                acc[i] &+= Int32(row[i]) &* w
                            }
                        }
                        let dst = out.baseAddress! + yy * rowLength
                        for i in 0..<rowLength { dst[i] = clip8(acc[i]) }
                    }
                }
            }
            initialized = count
        }
        return RGBImage(width: image.width, height: outHeight, pixels: pixels)
    }

    /// Pillow's NEAREST resize: its affine "scale" transform, which steps through
    /// source coordinates by repeated addition (`xo += a[0]`) starting from half a
    /// step, truncating each to an index; reproduced with the same accumulation.
    func resizeNearest(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        func positions(inSize: Int, outSize: Int) -> [Int] {
            let step = Double(Float(inSize)) / Double(outSize)
            var o = 0.0 + step * 0.5
            var result = [Int]()
            result.reserveCapacity(outSize)
            for _ in 0..<outSize {
                // Pillow leaves an out-of-range position unwritten; for a plain resize that
                // can only be float drift past the last pixel, so clamp.
                result.append(min(max(o < 0 ? 0 : Int(o), 0), inSize - 1))
                o += step
            }
            return result
        }
        let xs = positions(inSize: image.width, outSize: width)
        let ys = positions(inSize: image.height, outSize: height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let s = (ys[y] * image.width + xs[x]) * 3
                let d = (y * width + x) * 3
                out[d] = image.pixels[s]; out[d + 1] = image.pixels[s + 1]; out[d + 2] = image.pixels[s + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
