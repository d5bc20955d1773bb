import CVipsShim
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decodes image files into viewer-faithful `RGBImage`s.
///
/// JPEG, PNG, WebP, GIF (first frame), TIFF (first page) and HEIF/AVIF (where the
/// installed libheif can decode them) go through libvips; BMP through a small Swift
/// decoder. The result is what a photo viewer shows and what the reference pipeline
/// (Pillow + `exif_transpose` + `transformers.convert_to_rgb`) produces: EXIF
/// orientation applied, transparency over white, 16-bit reduced by `v >> 8`, grey and
/// palette expanded to RGB, CMYK converted to sRGB.
///
/// The decoder is a value with no shared mutable state; call it from as many threads
/// as you like.
public struct ImageDecoder: Sendable {
    /// Images whose header announces more pixels than this are refused before any
    /// pixel is decoded (decompression-bomb guard).
    public var maxPixels: Int

    public init(maxPixels: Int = 100_000_000) {
        self.maxPixels = maxPixels
    }

    /// Decodes the file at `path`.
    ///
    /// - Parameter shrinkOnLoadTarget: when set to S, JPEGs are decoded with libjpeg's
    ///   DCT scaling (1/2, 1/4 or 1/8), choosing the largest factor that keeps the
    ///   shortest side at least 2·S, which is several times faster for large photos and
    ///   leaves enough resolution for an antialiased resize to S. Other formats ignore
    ///   it. `nil` decodes at full resolution (the exact path).
    public func decode(path: String, shrinkOnLoadTarget: Int? = nil) throws -> RGBImage {
        try decodeReportingFullSize(path: path, shrinkOnLoadTarget: shrinkOnLoadTarget).image
    }

    /// Like `decode(path:shrinkOnLoadTarget:)`, also returning the displayed size the
    /// image would have without shrink-on-load, so the preprocessor can keep the exact
    /// path's resize geometry.
    func decodeReportingFullSize(path: String, shrinkOnLoadTarget: Int?) throws
        -> (image: RGBImage, fullWidth: Int, fullHeight: Int) {
        let bytes = try Self.readFile(path)
        return try bytes.withUnsafeBytes {
            try decodeReportingFullSize(buffer: $0, name: path, shrinkOnLoadTarget: shrinkOnLoadTarget)
        }
    }

    /// Decodes an in-memory file; `name` is only used in error messages.
    public func decode(data: [UInt8], name: String, shrinkOnLoadTarget: Int? = nil) throws -> RGBImage {
        try data.withUnsafeBytes { try decode(buffer: $0, name: name, shrinkOnLoadTarget: shrinkOnLoadTarget) }
    }

    /// Decodes an in-memory file; `name` is only used in error messages.
    public func decode(buffer: UnsafeRawBufferPointer, name: String,
                       shrinkOnLoadTarget: Int? = nil) throws -> RGBImage {
        try decodeReportingFullSize(buffer: buffer, name: name, shrinkOnLoadTarget: shrinkOnLoadTarget).image
    }

    func decodeReportingFullSize(buffer: UnsafeRawBufferPointer, name: String, shrinkOnLoadTarget: Int?) throws
        -> (image: RGBImage, fullWidth: Int, fullHeight: Int) {
        guard buffer.count > 0, let base = buffer.baseAddress else { throw ImageError.emptyFile(path: name) }

        if BMPDecoder.isBMP(buffer) {
            let image = try decodeBMP(buffer, name: name)
            return (image, image.width, image.height)
        }

        try VipsRuntime.ensureStarted(name: name)
        var format = glimpse_vips_format_of_buffer(base, buffer.count)
        if format == GLIMPSE_FORMAT_UNKNOWN || format == GLIMPSE_FORMAT_OTHER {
            // libvips found no loader (or one we do not expose), yet the file starts like
            // a supported format: use that format's loader, so a damaged or cut-short
            // file is reported as such rather than as "unknown format".
            guard let sniffed = Self.signature(of: buffer) else { throw ImageError.unsupportedFormat(path: name) }
            format = sniffed
        }

        // Header first: the pixel limit and the shrink factor need the full size.
        var image = try VipsRuntime.open(base, buffer.count, format: format, shrink: 1, name: name)
        defer { glimpse_vips_release(image) }
        let width = Int(glimpse_vips_width(image)), height = Int(glimpse_vips_height(image))
        try checkPixelLimit(width: width, height: height, name: name)

        if format == GLIMPSE_FORMAT_JPEG, let target = shrinkOnLoadTarget {
            let factor = Self.jpegShrinkFactor(width: width, height: height, target: target)
            if factor > 1 {
                let shrunk = try VipsRuntime.open(base, buffer.count, format: format, shrink: factor, name: name)
                glimpse_vips_release(image)
                image = shrunk
            }
        }

        // HEIF: libheif already applied the container transforms (see the shim).
        let orientation = format == GLIMPSE_FORMAT_HEIF ? .up : Self.orientation(of: image)
        let decoded = try VipsRuntime.pixels(of: image, orientation: orientation, name: name)
        return orientation.swapsDimensions ? (decoded, height, width) : (decoded, width, height)
    }

    /// The libjpeg scale denominator used by shrink-on-load: the largest of 8, 4, 2 for
    /// which the scaled shortest side, `side / factor` rounded down as libvips reports
    /// it, is still at least `2 * target`; 1 when none is.
    public static func jpegShrinkFactor(width: Int, height: Int, target: Int) -> Int {
        guard target > 0 else { return 1 }
        let shortest = min(width, height)
        for factor in [8, 4, 2] where shortest / factor >= 2 * target {
            return factor
        }
        return 1
    }

    /// The format a file's first bytes announce, among those libvips decodes for us.
    static func signature(of b: UnsafeRawBufferPointer) -> GlimpseFormat? {
        func starts(_ bytes: [UInt8], at offset: Int = 0) -> Bool {
            b.count >= offset + bytes.count && bytes.indices.allSatisfy { b[offset + $0] == bytes[$0] }
        }
        if starts([0xFF, 0xD8, 0xFF]) { return GLIMPSE_FORMAT_JPEG }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return GLIMPSE_FORMAT_PNG }
        if starts(Array("GIF8".utf8)) { return GLIMPSE_FORMAT_GIF }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return GLIMPSE_FORMAT_WEBP }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return GLIMPSE_FORMAT_TIFF }
        if starts(Array("ftyp".utf8), at: 4) { return GLIMPSE_FORMAT_HEIF }
        return nil
    }

    private func checkPixelLimit(width: Int, height: Int, name: String) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixels {
            throw ImageError.tooManyPixels(path: name, width: width, height: height, limit: maxPixels)
        }
    }

    private func decodeBMP(_ buffer: UnsafeRawBufferPointer, name: String) throws -> RGBImage {
        try BMPDecoder.decode(buffer, name: name, maxPixels: maxPixels)
    }

    /// EXIF orientation, with Pillow's XMP fallback when EXIF has none.
    private static func orientation(of image: UnsafeMutablePointer<VipsImage>) -> ImageOrientation {
        var hasTag: Int32 = 0
        let value = Int(glimpse_vips_orientation(image, &hasTag))
        if hasTag != 0 { return ImageOrientation(rawValue: value) ?? .up }
        var length = 0
        if let xmp = glimpse_vips_xmp(image, &length), length > 0 {
            return ImageOrientation.fromXMP(UnsafeRawBufferPointer(start: xmp, count: length)) ?? .up
        }
        return .up
    }

    /// Reads a whole file with POSIX calls (no Foundation, thread-safe).
    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ImageError.unreadable(path: path, reason: errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ImageError.unreadable(path: path, reason: errnoText()) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw ImageError.unreadable(path: path, reason: "is a directory") }
        let size = Int(info.st_size)
        if size == 0 { throw ImageError.emptyFile(path: path) }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        try bytes.withUnsafeMutableBytes { raw in
            while done < size {
                let n = read(fd, raw.baseAddress! + done, size - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ImageError.unreadable(path: path, reason: errnoText())
                }
                if n == 0 { break }
                done += n
            }
        }
        if done < size { bytes.removeLast(size - done) }
        if bytes.isEmpty { throw ImageError.emptyFile(path: path) }
        return bytes
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
