import CVipsShim
import Foundation
import GlimpseImage
import GlimpseTensor
import GlimpseStore

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

    /// Writes `thumbnails/ID.jpg` for an image of `library` (atomically: a reader never sees half a file).
    @discardableResult
    public func write(id: Int64, path: String, library: Library) throws -> String {
        let data = try jpeg(path: path, id: id)
        try FileManager.default.createDirectory(atPath: library.thumbnailDirectory, withIntermediateDirectories: true)
        let destination = library.thumbnailPath(id: id)
        try data.write(to: URL(fileURLWithPath: destination), options: .atomic)
        return destination
    }

    /// Writes thumbnails for many images on all cores; returns the ids whose thumbnail failed (never throws:
    /// a missing thumbnail is made again on demand).
    public func write(_ images: [(id: Int64, path: String)], library: Library) -> [Int64] {
        guard !images.isEmpty else { return [] }
        let failed = UnsafeMutableBufferPointer<Bool>.allocate(capacity: images.count)
        failed.initialize(repeating: false)
        defer { failed.deallocate() }
        let shared = UncheckedSendable(failed)
        DispatchQueue.concurrentPerform(iterations: images.count) { i in
            do { try write(id: images[i].id, path: images[i].path, library: library) } catch { shared.value[i] = true }
        }
        return images.indices.compactMap { failed[$0] ? images[$0].id : nil }
    }
}
