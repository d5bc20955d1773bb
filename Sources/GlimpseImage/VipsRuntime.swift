import CVipsShim

/// The thin layer between `ImageDecoder` and the C shim: process-wide libvips
/// start-up, opening images, and pulling pixels out with error translation.
enum VipsRuntime {
    /// `vips_init` runs exactly once per process (`pthread_once` in the shim).
    static func ensureStarted(name: String) throws {
        if glimpse_vips_init() != 0 {
            throw ImageError.unreadable(path: name, reason: "libvips failed to initialise: \(takeError())")
        }
    }

    /// Opens the image header (pixels are decoded later, sequentially).
    static func open(_ base: UnsafeRawPointer, _ count: Int, format: GlimpseFormat, shrink: Int,
                     name: String) throws -> UnsafeMutablePointer<VipsImage> {
        var image: UnsafeMutablePointer<VipsImage>?
        if glimpse_vips_load_buffer(base, count, format, Int32(shrink), &image) != 0 || image == nil {
            glimpse_vips_release(image)
            throw corruption(name: name)
        }
        return image!
    }

    /// Decodes every pixel and converts to viewer-faithful RGB8.
    static func pixels(of image: UnsafeMutablePointer<VipsImage>, orientation: ImageOrientation,
                       name: String) throws -> RGBImage {
        var source = image
        var converted: UnsafeMutablePointer<VipsImage>?
        defer { glimpse_vips_release(converted) }

        // CMYK needs a colour transform; exotic sample formats (float, 32-bit,
        // signed) a clamping cast. Everything else is converted in Swift.
        let bandFormat = glimpse_vips_band_format(image)
        let isUChar = bandFormat == Int32(VIPS_FORMAT_UCHAR.rawValue)
        let isUShort = bandFormat == Int32(VIPS_FORMAT_USHORT.rawValue)
        if glimpse_vips_is_cmyk(image) != 0 {
            if glimpse_vips_to_srgb8(image, &converted) != 0 || converted == nil { throw corruption(name: name) }
            source = converted!
        } else if !isUChar && !isUShort {
            if glimpse_vips_cast_uchar(image, &converted) != 0 || converted == nil { throw corruption(name: name) }
            source = converted!
        }

        let width = Int(glimpse_vips_width(source)), height = Int(glimpse_vips_height(source))
        let bands = Int(glimpse_vips_bands(source))
        let depth: PixelConversion.Depth =
            glimpse_vips_band_format(source) == Int32(VIPS_FORMAT_USHORT.rawValue) ? .sixteen : .eight

        guard bands >= 1, let region = glimpse_vips_region_new(source) else { throw corruption(name: name) }
        defer { glimpse_vips_region_release(region) }
        // Strips of 16 rows keep the working set in cache; decoding happens here, in
        // the calling thread, straight into the final buffer.
        return try PixelConversion.makeRGB(width: width, height: height, bands: bands, depth: depth,
                                           orientation: orientation, stripHeight: 16) { top, count in
            var data: UnsafePointer<UInt8>?
            var stride = 0
            guard glimpse_vips_region_fetch(region, Int32(top), Int32(count), &data, &stride) == 0,
                  let data else { throw corruption(name: name) }
            return (UnsafeRawPointer(data), stride)
        }
    }

    /// libvips's last message as a `corrupt` error. The message buffer is global, so
    /// under concurrency it is detail text only; the classification never depends on it.
    static func corruption(name: String) -> ImageError {
        ImageError.corrupt(path: name, detail: summarize(takeError()))
    }

    static func takeError() -> String {
        guard let message = glimpse_vips_take_error() else { return "" }
        defer { glimpse_vips_free(message) }
        return String(cString: message)
    }

    /// The most specific line of a libvips message (libvips often adds generic
    /// follow-up lines), e.g. "VipsJpeg: Premature end of input file".
    private static func summarize(_ message: String) -> String {
        let lines = message.split(separator: "\n").map { $0.trimmingWhitespace() }.filter { !$0.isEmpty }
        // Prefer the line naming the actual problem over generic follow-ups.
        let generic = ["unable to call", "load_buffer: ", "vips_image_pio_input"]
        let specific = lines.first { line in !generic.contains { line.contains($0) } }
        return String(specific ?? lines.first ?? "")
    }
}

private extension Substring {
    func trimmingWhitespace() -> Substring {
        var s = self
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }
}
