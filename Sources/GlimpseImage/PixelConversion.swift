/// Turning decoded samples of any common layout into the viewer-faithful `RGBImage`.
///
/// The reference pipeline (Pillow + `transformers.convert_to_rgb`) defines what
/// "viewer-faithful" means: 16-bit samples keep their high byte (`v >> 8`), grey is
/// replicated into R, G and B, transparency is composited over opaque white with
/// Pillow's `alpha_composite` integer arithmetic, and the EXIF orientation is applied.
/// Doing all of it in one pass here (rather than as a chain of libvips operations)
/// makes the arithmetic exactly Pillow's and avoids extra full-size copies.
enum PixelConversion {
    /// Bytes per sample of decoded data.
    enum Depth: Sendable { case eight, sixteen }

    /// Pillow's `alpha_composite(white, pixel)` for one colour sample.
    ///
    /// With an opaque destination, Pillow's coefficients reduce exactly to
    /// `coef1 = a * 128`, `coef2 = (255 - a) * 128` (PRECISION_BITS = 7), followed by
    /// its rounded division by 255 (`SHIFTFORDIV255`).
    @inline(__always)
    static func compositeOverWhite(_ c: UInt32, alpha a: UInt32) -> UInt8 {
        if a == 0 { return 255 }
        let tmp = c &* (a << 7) &+ 255 &* ((255 &- a) << 7) &+ (0x80 << 7)
        return UInt8(truncatingIfNeeded: (((tmp >> 8) &+ tmp) >> 8) >> 7)
    }

    /// Converts `height` rows of `width` pixels with `bands` interleaved samples each.
    ///
    /// - bands 1: grey; 2: grey + alpha; 3: RGB; 4 or more: RGB + alpha in band 3
    ///   (further bands are ignored).
    /// - `rowStride` is in bytes; `nil` means tightly packed.
    static func makeRGB(samples: UnsafeRawPointer, width: Int, height: Int, bands: Int,
                        depth: Depth, rowStride: Int? = nil,
                        orientation: ImageOrientation) -> RGBImage {
        let stride = rowStride ?? width * bands * (depth == .eight ? 1 : 2)
        // The closure cannot fail here.
        return try! makeRGB(width: width, height: height, bands: bands, depth: depth,
                            orientation: orientation, stripHeight: height) { top, _ in
            (samples + top * stride, stride)
        }
    }

    /// Like `makeRGB(samples:...)`, pulling rows in strips from `fetch(top, count)`, which
    /// returns the first row's samples and the distance between rows in bytes. Strips
    /// are requested top to bottom, so a sequential decoder can feed them directly.
    static func makeRGB(width: Int, height: Int, bands: Int, depth: Depth,
                        orientation: ImageOrientation, stripHeight: Int,
                        fetch: (_ top: Int, _ count: Int) throws -> (UnsafeRawPointer, Int)) throws -> RGBImage {
        let outWidth = orientation.swapsDimensions ? height : width
        let outHeight = orientation.swapsDimensions ? width : height
        let count = width * height * 3
        var failure: Error?
        let pixels = [UInt8](unsafeUninitializedCapacity: count) { out, initialized in
            initialized = 0
            guard let outBase = out.baseAddress else { return }
            let (base, stepX, stepY) = orientation.placement(width: width, height: height)
            // Rows are converted into a scratch row, then scattered by orientation;
            // upright images are converted straight into place.
            let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: max(width * 3, 1))
            defer { scratch.deallocate() }
            var top = 0
            while top < height {
                let n = min(stripHeight, height - top)
                let strip: UnsafeRawPointer, stride: Int
                do {
                    (strip, stride) = try fetch(top, n)
                } catch {
                    failure = error
                    return
                }
                for y in top..<(top + n) {
                    let src = strip + (y - top) * stride
                    let rowOut = orientation == .up ? outBase + y * width * 3 : scratch
                    convertRow(src, into: rowOut, width: width, bands: bands, depth: depth)
                    if orientation != .up {
                        var index = base + y * stepY
                        for x in 0..<width {
                            let d = outBase + index &* 3  // index < width * height (placement)
                            let s = scratch + x &* 3
                            d[0] = s[0]; d[1] = s[1]; d[2] = s[2]
                            index &+= stepX
                        }
                    }
                }
                top += n
            }
            initialized = count
        }
        if let failure { throw failure }
        return RGBImage(width: outWidth, height: outHeight, pixels: pixels)
    }

    /// One row of samples to packed RGB8.
    @inline(__always)
    static func convertRow(_ src: UnsafeRawPointer, into dst: UnsafeMutablePointer<UInt8>,
                           width: Int, bands: Int, depth: Depth) {
        switch depth {
        case .eight:
            let s = src.assumingMemoryBound(to: UInt8.self)
            convertRow(width: width, bands: bands, into: dst) { UInt32(s[$0]) }
        case .sixteen:
            // libvips hands out 16-bit samples in native byte order.
            let s = src.assumingMemoryBound(to: UInt16.self)
            convertRow(width: width, bands: bands, into: dst) { UInt32(s[$0] >> 8) }
        }
    }

    @inline(__always)
    private static func convertRow(width: Int, bands: Int, into dst: UnsafeMutablePointer<UInt8>,
                                   sample: (Int) -> UInt32) {
        // x < width and the caller allocated width * 3 outputs (and width * bands inputs) with checked
        // arithmetic, so the per-pixel index arithmetic below is wrapping: it cannot wrap, and it keeps the
        // loops free of overflow branches.
        switch bands {
        case 1:
            for x in 0..<width {
                let v = UInt8(truncatingIfNeeded: sample(x))
                dst[x &* 3] = v; dst[x &* 3 &+ 1] = v; dst[x &* 3 &+ 2] = v
            }
        case 2:
            for x in 0..<width {
                let v = compositeOverWhite(sample(x &* 2), alpha: sample(x &* 2 &+ 1))
                dst[x &* 3] = v; dst[x &* 3 &+ 1] = v; dst[x &* 3 &+ 2] = v
            }
        case 3:
            for i in 0..<(width * 3) {
                dst[i] = UInt8(truncatingIfNeeded: sample(i))
            }
        default:
            for x in 0..<width {
                let s = x &* bands
                let a = sample(s &+ 3)
                dst[x &* 3] = compositeOverWhite(sample(s), alpha: a)
                dst[x &* 3 &+ 1] = compositeOverWhite(sample(s &+ 1), alpha: a)
                dst[x &* 3 &+ 2] = compositeOverWhite(sample(s &+ 2), alpha: a)
            }
        }
    }
}
