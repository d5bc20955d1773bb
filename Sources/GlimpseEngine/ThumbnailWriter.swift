import CVipsShim
import Foundation
import GlimpseImage
import GlimpseTensor

/// Why a thumbnail could not be made.
public enum ThumbnailError: Error, CustomStringConvertible, Equatable {
    case encodeFailed(id: Int64, reason: String)

    public var description: String {
        switch self {
        case let .encodeFailed(id, reason): "thumbnail of image \(id): \(reason)"
        }
    }
}

/// Makes the small JPEG previews a library keeps in `thumbnails/ID.jpg` (at index time, or lazily when one is
/// missing). Images are decoded as a viewer shows them (EXIF orientation, transparency over white), so a
/// thumbnail looks like its image; JPEGs use shrink-on-load, so a 24-megapixel photo decodes in a few ms.
public struct ThumbnailWriter: Sendable {
    /// Longest side of a thumbnail, in pixels.
    public var maxSide: Int
    public var quality: Int
    public var decoder: ImageDecoder

    public init(maxSide: Int = 384, quality: Int = 82, decoder: ImageDecoder = ImageDecoder()) {
        self.maxSide = maxSide
        self.quality = quality
        self.decoder = decoder
    }

    /// JPEG bytes of a thumbnail of the image file at `path`.
    public func jpeg(path: String, id: Int64 = 0) throws -> Data {
        try jpeg(of: decoder.decode(path: path, shrinkOnLoadTarget: maxSide), id: id)
    }

    /// JPEG bytes of a thumbnail of a decoded image.
    public func jpeg(of image: RGBImage, id: Int64 = 0) throws -> Data {
        var out: UnsafeMutableRawPointer?
        var length = 0
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            glimpse_vips_rgb_to_jpeg_thumbnail(pixels.baseAddress, Int32(image.width), Int32(image.height),
                                               Int32(maxSide), Int32(quality), &out, &length)
        }
        guard status == 0, let out else {
            var reason = "libvips could not encode it"
            if let message = glimpse_vips_take_error() {
                reason = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
                glimpse_vips_free(message)
            }
            throw ThumbnailError.encodeFailed(id: id, reason: reason)
        }
        defer { glimpse_vips_free(out) }
        return Data(bytes: out, count: length)
    }

    /// Thumbnails of many images, made on all cores; an image whose thumbnail fails is left out (never throws:
    /// a missing thumbnail is made again on demand).
    public func make(_ images: [(id: Int64, path: String)]) -> [(id: Int64, jpeg: Data)] {
        guard !images.isEmpty else { return [] }
        var made = [Data?](repeating: nil, count: images.count)
        made.withUnsafeMutableBufferPointer { buffer in
            let shared = UncheckedSendable(buffer)
            DispatchQueue.concurrentPerform(iterations: images.count) { i in
                shared.value[i] = try? jpeg(path: images[i].path, id: images[i].id)
            }
        }
        return zip(images, made).compactMap { image, data in data.map { (image.id, $0) } }
    }
}
