import Foundation

/// CLIP image preprocessing, sample-for-sample equal to Hugging Face's
/// `CLIPImageProcessor` on its Pillow path (`CLIPImageProcessorPil` in transformers 5):
/// resize (Pillow resampling), center crop, rescale, normalise, channels first.
///
/// Equality with the Python pipeline matters more than speed tricks: embeddings of
/// indexed photos must be comparable with those a Python user computes. The one
/// deliberate departure is the optional JPEG shrink-on-load in
/// `pixelValues(path:decoder:fast:)`, which trades exactness for a several-fold speed-up
/// on large photos (embeddings stay within cosine ≈ 0.999).
public struct CLIPImagePreprocessor: Sendable {
    public let config: ImagePreprocessorConfig
    private let resampler: PillowResampler

    public init(config: ImagePreprocessorConfig) {
        self.config = config
        self.resampler = PillowResampler(filter: config.resample)
    }

    /// Reads `preprocessor_config.json`.
    public init(contentsOf url: URL) throws {
        self.init(config: try ImagePreprocessorConfig(contentsOf: url))
    }

    /// Height of the produced tensor: the crop height when cropping; otherwise the
    /// resize height if it is fixed, or the shortest edge (the actual height then
    /// depends on the image, see `outputSize(forWidth:height:)`).
    public var outputHeight: Int {
        if config.doCenterCrop { return config.cropSize.height }
        switch config.size {
        case .exact(let height, _): return height
        case .shortestEdge(let edge, _): return edge
        }
    }

    /// Width of the produced tensor; see `outputHeight`.
    public var outputWidth: Int {
        if config.doCenterCrop { return config.cropSize.width }
        switch config.size {
        case .exact(_, let width): return width
        case .shortestEdge(let edge, _): return edge
        }
    }

    /// The size after resize and crop for an input of the given size.
    public func outputSize(forWidth width: Int, height: Int) -> (width: Int, height: Int) {
        var (h, w) = (height, width)
        if config.doResize { (h, w) = resizedSize(height: height, width: width) }
        if config.doCenterCrop { (h, w) = config.cropSize }
        return (w, h)
    }

    /// The `(height, width)` the resize step produces, computed as transformers does
    /// (`get_resize_output_image_size` / `get_size_with_aspect_ratio`), including its
    /// truncating `int(...)` of the long side.
    public func resizedSize(height: Int, width: Int) -> (height: Int, width: Int) {
        switch config.size {
        case .exact(let h, let w):
            return (h, w)
        case .shortestEdge(let edge, nil):
            let (short, long) = width <= height ? (width, height) : (height, width)
            let newLong = Int(Double(edge * long) / Double(short))
            return width <= height ? (newLong, edge) : (edge, newLong)
        case .shortestEdge(var edge, let maxSize?):
            let minOriginal = Double(min(height, width)), maxOriginal = Double(max(height, width))
            var raw: Double?
            if maxOriginal / minOriginal * Double(edge) > Double(maxSize) {
                raw = Double(maxSize) * minOriginal / maxOriginal
                edge = Int(raw!.rounded(.toNearestOrEven))
            }
            if (height <= width && height == edge) || (width <= height && width == edge) {
                return (height, width)
            } else if width < height {
                let oh = raw.map { Int($0 * Double(height) / Double(width)) }
                    ?? Int(Double(edge * height) / Double(width))
                return (oh, edge)
            } else {
                let ow = raw.map { Int($0 * Double(width) / Double(height)) }
                    ?? Int(Double(edge * width) / Double(height))
                return (edge, ow)
            }
        }
    }

    /// Resize and center crop: the uint8 image just before rescale/normalise.
    public func resizedAndCropped(_ image: RGBImage) -> RGBImage {
        resizedAndCropped(image, sizedAsWidth: image.width, height: image.height)
    }

    /// Resize and crop, with the resize target computed for an image of
    /// `width`×`height` (the full size of an image decoded with shrink-on-load, so the
    /// fast path keeps the exact path's geometry).
    func resizedAndCropped(_ image: RGBImage, sizedAsWidth width: Int, height: Int) -> RGBImage {
        var current = image
        if config.doResize {
            let (h, w) = resizedSize(height: height, width: width)
            current = resampler.resize(current, width: w, height: h)
        }
        if config.doCenterCrop {
            current = Self.centerCrop(current, height: config.cropSize.height, width: config.cropSize.width)
        }
        return current
    }

    /// transformers' `center_crop`: offsets `(size - crop) // 2` (floor), and when the
    /// image is smaller than the crop, zero (black) padding placed as it places it.
    public static func centerCrop(_ image: RGBImage, height cropHeight: Int, width cropWidth: Int) -> RGBImage {
        let (origHeight, origWidth) = (image.height, image.width)
        var top = floorDiv(origHeight - cropHeight, 2)
        var bottom = top + cropHeight
        var left = floorDiv(origWidth - cropWidth, 2)
        var right = left + cropWidth
        if top >= 0 && bottom <= origHeight && left >= 0 && right <= origWidth {
            if top == 0 && left == 0 && cropHeight == origHeight && cropWidth == origWidth { return image }
            return image.cropped(x: left, y: top, width: cropWidth, height: cropHeight)
        }
        // Pad with zeros to at least the crop size, then crop (transformers' "Oh joy" path).
        let newHeight = max(cropHeight, origHeight), newWidth = max(cropWidth, origWidth)
        let topPad = (newHeight - origHeight + 1) / 2, leftPad = (newWidth - origWidth + 1) / 2
        top += topPad; bottom += topPad; left += leftPad; right += leftPad
        let y0 = max(0, top), y1 = min(newHeight, bottom), x0 = max(0, left), x1 = min(newWidth, right)
        let outHeight = max(0, y1 - y0), outWidth = max(0, x1 - x0)
        var out = [UInt8](repeating: 0, count: outHeight * outWidth * 3)
        // Per row, the output columns whose source column x0 + x - leftPad lies in 0..<origWidth are one
        // contiguous run: copy it in one go (the rest stays black padding).
        let xStart = max(0, leftPad - x0), xEnd = min(outWidth, origWidth + leftPad - x0)
        if xStart < xEnd {
            image.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<outHeight {
                        let srcY = y0 + y - topPad
                        guard srcY >= 0 && srcY < origHeight else { continue }
                        let s = (srcY * origWidth + x0 + xStart - leftPad) * 3, d = (y * outWidth + xStart) * 3
                        let n = (xEnd - xStart) * 3
                        precondition(s >= 0 && s + n <= src.count && d + n <= dst.count)
                        (dst.baseAddress! + d).update(from: src.baseAddress! + s, count: n)
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    /// Rescale and normalise an already resized and cropped image into Float32 CHW
    /// (3 × height × width), with transformers' arithmetic: rescale in double then
    /// rounded to float, `(x - mean) / std` in float.
    public func normalized(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        var table = [[Float]](repeating: [], count: 3)
        for c in 0..<3 {
            // 256 possible inputs per channel: precompute them.
            let mean = Float(config.imageMean[c]), std = Float(config.imageStd[c])
            table[c] = (0..<256).map { v -> Float in
                var x = config.doRescale ? Float(Double(v) * config.rescaleFactor) : Float(v)
                if config.doNormalize { x = (x - mean) / std }
                return x
            }
        }
        var out = [Float](repeating: 0, count: 3 * plane)
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<3 {
                    table[c].withUnsafeBufferPointer { t in
                        let base = c * plane
                        // i < plane and src holds 3 * plane samples: the index arithmetic cannot wrap.
                        precondition(src.count >= 3 * plane && dst.count >= base + plane)
                        for i in 0..<plane { dst[base &+ i] = t[Int(src[i &* 3 &+ c])] }
                    }
                }
            }
        }
        return out
    }

    /// The full preprocessing of a decoded image: `pixel_values` of one image, CHW.
    public func pixelValues(_ image: RGBImage) -> [Float] {
        normalized(resizedAndCropped(image))
    }

    /// Decodes and preprocesses a file.
    ///
    /// With `fast`, JPEGs use shrink-on-load towards the resize target (see
    /// `ImageDecoder.decode(path:shrinkOnLoadTarget:)`); other formats and `fast: false`
    /// take the exact path.
    public func pixelValues(path: String, decoder: ImageDecoder, fast: Bool = true) throws -> [Float] {
        try preprocess(path: path, decoder: decoder, fast: fast).pixels
    }

    /// Decodes and preprocesses a file, also returning the size a viewer shows it at (full size, EXIF applied).
    public func preprocess(path: String, decoder: ImageDecoder, fast: Bool = true) throws -> (pixels: [Float], width: Int, height: Int) {
        let (image, fullWidth, fullHeight) = try decoder.decodeReportingFullSize(
            path: path, shrinkOnLoadTarget: fast ? shrinkOnLoadTarget : nil)
        return (normalized(resizedAndCropped(image, sizedAsWidth: fullWidth, height: fullHeight)), fullWidth, fullHeight)
    }

    /// Decodes and preprocesses an in-memory file (an upload); `name` is only used in error messages.
    public func preprocess(data: [UInt8], name: String, decoder: ImageDecoder, fast: Bool = true) throws -> (pixels: [Float], width: Int, height: Int) {
        let (image, fullWidth, fullHeight) = try data.withUnsafeBytes {
            try decoder.decodeReportingFullSize(buffer: $0, name: name, shrinkOnLoadTarget: fast ? shrinkOnLoadTarget : nil)
        }
        return (normalized(resizedAndCropped(image, sizedAsWidth: fullWidth, height: fullHeight)), fullWidth, fullHeight)
    }

    /// The shortest side the resize step aims at, used to pick a JPEG shrink factor
    /// that still leaves at least twice that resolution; `nil` when not resizing.
    public var shrinkOnLoadTarget: Int? {
        guard config.doResize else { return nil }
        switch config.size {
        case .shortestEdge(let edge, _): return edge
        case .exact(let h, let w): return max(h, w)
        }
    }
}
