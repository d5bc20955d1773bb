/// An 8-bit RGB raster: the common currency between decoding and preprocessing.
///
/// Pixels are interleaved (`R, G, B, R, G, B, ...`) and stored row by row from the
/// top-left corner, already in the orientation a photo viewer shows (EXIF applied),
/// with any transparency composited over white.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` samples.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "negative image size")
        precondition(pixels.count == width * height * 3,
                     "RGBImage needs \(width * height * 3) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A `width`×`height` image filled with one colour.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = fill.0
            pixels[i + 1] = fill.1
            pixels[i + 2] = fill.2
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The `(r, g, b)` sample at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// The rectangle `x ..< x + width`, `y ..< y + height`, which must lie inside the image.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && x + cropWidth <= width && y + cropHeight <= height,
                     "crop outside the image")
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<cropHeight {
                    let s = ((y + row) * width + x) * 3
                    let d = row * cropWidth * 3
                    for i in 0..<(cropWidth * 3) { dst[d + i] = src[s + i] }
                }
            }
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: out)
    }
}
